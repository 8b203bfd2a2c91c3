using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// Puts a <see cref="SiloKeyedPlacement"/> grain on the silo named in its key, so the indexing job can spread
/// batches over the cluster; when that silo is gone the grain lands locally and the caller simply retries.
/// </summary>
internal sealed class SiloKeyedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (GrainKeys.InferenceWorker.TryParse(target.GrainIdentity.Key.ToString(), out var wanted, out _) && compatible.Contains(wanted))
            return Task.FromResult(wanted);
        return Task.FromResult(compatible.Contains(context.LocalSilo) ? context.LocalSilo : compatible[Random.Shared.Next(compatible.Length)]);
    }
}
