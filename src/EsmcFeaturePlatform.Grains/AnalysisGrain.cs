using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Placement;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// One sequence's raw features under one SAE: concurrent requests for the same sequence meet here (the grain is not
/// reentrant) and share one encoding. The result lives in the silo's <see cref="AnalysisCache"/> (bounded by bytes,
/// aging out), not in the activation, and the activation itself is collected after two minutes idle, so a stream of
/// distinct sequences costs bounded memory. Placed on the caller's silo so a re-activated grain finds that silo's
/// cache. Raw values only: normalization is applied by the reader, so statistics imported later are never served stale.
/// </summary>
[PreferLocalPlacement, CollectionAgeLimit(Minutes = 2)]
public sealed class AnalysisGrain(AnalysisCache cache) : Grain, IAnalysisGrain
{
    public async Task<EncodeOutcome> AnalyzeAsync(string sequence, CancellationToken cancellationToken = default)
    {
        var key = this.GetPrimaryKeyString();
        // The key is SAE|SHA-256(sequence): a hit is for this very sequence.
        if (cache.TryGet(key, out var cached)) return cached;
        var (saeId, _) = GrainKeys.Analysis.Parse(key);
        var catalog = await GrainFactory.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
        var sae = Array.Find(catalog.Saes, s => s.Id == saeId);
        if (sae is null) return EncodeOutcome.Failed(EncodeFailure.UnknownSae, $"Unknown SAE '{saeId}'.");
        var worker = GrainFactory.GetGrain<IInferenceWorkerGrain>(GrainKeys.InferenceWorker.Format(GrainContext.Address.SiloAddress!, sae.Model));
        var outcome = await worker.EncodeAsync(saeId, [sequence], cancellationToken);
        if (outcome.Failure == EncodeFailure.None) cache.Add(key, outcome);
        return outcome;
    }
}
