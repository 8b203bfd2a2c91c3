using System.Diagnostics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using Orleans.Concurrency;
using Orleans.Placement;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Places a grain keyed <c>SILO|...</c> on that silo while it is alive (see the director in the host).</summary>
[GenerateSerializer, Immutable, Alias("esmc.SiloKeyedPlacement")]
public sealed class SiloKeyedPlacement : PlacementStrategy
{
    public static SiloKeyedPlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloKeyedPlacementAttribute() : PlacementAttribute(SiloKeyedPlacement.Instance);

public static class InferenceWorkerKey
{
    public static string For(SiloAddress silo, string model) => $"{silo.ToParsableString()}|{model}";

    public static SiloAddress? SiloOf(string key)
    {
        var bar = key.IndexOf('|');
        if (bar <= 0) return null;
        try { return SiloAddress.FromParsableString(key[..bar]); }
        catch (FormatException) { return null; }
    }
}

/// <summary>
/// The silo's inference worker for one model. Reentrant on purpose: concurrent requests must reach the
/// encoder together so that its own worker thread can batch them; the grain holds no mutable state.
/// </summary>
[Reentrant, SiloKeyedPlacement]
public sealed class InferenceWorkerGrain(IFeatureEncoder encoder) : Grain, IInferenceWorkerGrain
{
    public async Task<EncodeOutcome> EncodeAsync(string saeId, string[] sequences, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = await EncodeOrFailAsync(saeId, sequences, cancellationToken);
        PlatformTelemetry.RecordInferenceRequest(outcome.Failure, Stopwatch.GetElapsedTime(started));
        return outcome;
    }

    private async Task<EncodeOutcome> EncodeOrFailAsync(string saeId, string[] sequences, CancellationToken cancellationToken)
    {
        try
        {
            var results = await encoder.EncodeAsync(saeId, sequences, cancellationToken);
            return new EncodeOutcome([.. results], EncodeFailure.None, null);
        }
        catch (InvalidSequenceException ex) { return EncodeOutcome.Failed(EncodeFailure.InvalidSequence, ex.Message); }
        catch (UnknownSaeException ex) { return EncodeOutcome.Failed(EncodeFailure.UnknownSae, ex.Message); }
        catch (OverloadedException ex) { return EncodeOutcome.Failed(EncodeFailure.Overloaded, ex.Message); }
    }
}

/// <summary>Any silo answers from its own encoder: all silos load the same model root.</summary>
[StatelessWorker]
public sealed class SaeCatalogGrain(IFeatureEncoder encoder) : Grain, ISaeCatalogGrain
{
    public Task<SaeCatalog> GetCatalogAsync() => Task.FromResult(new SaeCatalog([.. encoder.Saes], [.. encoder.LoadProblems], encoder.LengthLimit));

    public Task<NormalizationStats?> GetCheckpointStatisticsAsync(string saeId) => Task.FromResult(encoder.GetCheckpointStatistics(saeId));
}

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
        var saeId = key[..key.LastIndexOf('|')];
        var catalog = await GrainFactory.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
        var sae = Array.Find(catalog.Saes, s => s.Id == saeId);
        if (sae is null) return EncodeOutcome.Failed(EncodeFailure.UnknownSae, $"Unknown SAE '{saeId}'.");
        var worker = GrainFactory.GetGrain<IInferenceWorkerGrain>(InferenceWorkerKey.For(GrainContext.Address.SiloAddress!, sae.Model));
        var outcome = await worker.EncodeAsync(saeId, [sequence], cancellationToken);
        if (outcome.Failure == EncodeFailure.None) cache.Add(key, outcome);
        return outcome;
    }
}
