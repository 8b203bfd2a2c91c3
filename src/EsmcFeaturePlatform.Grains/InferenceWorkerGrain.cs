using System.Diagnostics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using Orleans.Concurrency;

namespace EsmcFeaturePlatform.Grains;

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
