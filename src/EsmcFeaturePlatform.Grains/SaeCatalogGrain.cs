using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Concurrency;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Any silo answers from its own encoder: all silos load the same model root.</summary>
[StatelessWorker]
public sealed class SaeCatalogGrain(IFeatureEncoder encoder) : Grain, ISaeCatalogGrain
{
    public Task<SaeCatalog> GetCatalogAsync() => Task.FromResult(new SaeCatalog([.. encoder.Saes], [.. encoder.LoadProblems], encoder.LengthLimit));

    public Task<NormalizationStats?> GetCheckpointStatisticsAsync(string saeId) => Task.FromResult(encoder.GetCheckpointStatistics(saeId));
}
