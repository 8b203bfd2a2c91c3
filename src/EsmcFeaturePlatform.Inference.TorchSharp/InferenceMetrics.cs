using EsmcFeaturePlatform.Abstractions.Telemetry;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

namespace EsmcFeaturePlatform.Inference.TorchSharp;

/// <summary>Cumulative counters of the inference workers, for benchmarks and health pages. Thread-safe.</summary>
public sealed class InferenceMetrics
{
    private long _sequences;
    private long _realTokens;
    private long _paddedTokens;
    private long _batches;
    private long _backboneMicroseconds;
    private long _saeMicroseconds;

    public long Sequences => Interlocked.Read(ref _sequences);

    /// <summary>Tokens that belong to sequences (including &lt;cls&gt;/&lt;eos&gt;).</summary>
    public long RealTokens => Interlocked.Read(ref _realTokens);

    /// <summary>Tokens computed, padding included (batch size x longest sequence, summed over batches).</summary>
    public long PaddedTokens => Interlocked.Read(ref _paddedTokens);

    public long Batches => Interlocked.Read(ref _batches);

    public double BackboneSeconds => Interlocked.Read(ref _backboneMicroseconds) / 1e6;

    public double SaeSeconds => Interlocked.Read(ref _saeMicroseconds) / 1e6;

    /// <summary>Share of computed tokens that were padding.</summary>
    public double PaddingWaste => PaddedTokens == 0 ? 0 : 1.0 - (double)RealTokens / PaddedTokens;

    public InferenceMetricsSnapshot Snapshot() =>
        new(Sequences, RealTokens, PaddedTokens, Batches, BackboneSeconds, SaeSeconds);

    /// <summary>
    /// One batch the worker ran: added to these counters and recorded, per model, on the platform's OpenTelemetry
    /// instruments (<see cref="PlatformTelemetry"/>), so both always count the same batches.
    /// </summary>
    internal void RecordBatch(KeyValuePair<string, object?> model, int sequences, int residues, BatchOutput output)
    {
        Interlocked.Add(ref _sequences, sequences);
        Interlocked.Add(ref _realTokens, output.RealTokens);
        Interlocked.Add(ref _paddedTokens, output.PaddedTokens);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _backboneMicroseconds, (long)(output.BackboneSeconds * 1e6));
        Interlocked.Add(ref _saeMicroseconds, (long)(output.SaeSeconds * 1e6));
        PlatformTelemetry.InferenceBatchSize.Record(sequences, model);
        PlatformTelemetry.InferenceBatchTokens.Record(output.RealTokens, model);
        PlatformTelemetry.InferencePaddingWaste.Record(output.PaddedTokens == 0 ? 0 : 1.0 - (double)output.RealTokens / output.PaddedTokens, model);
        PlatformTelemetry.InferenceBackboneDuration.Record(output.BackboneSeconds, model);
        PlatformTelemetry.InferenceSaeDuration.Record(output.SaeSeconds, model);
        PlatformTelemetry.InferenceResidues.Add(residues, model);
    }
}

public sealed record InferenceMetricsSnapshot(long Sequences, long RealTokens, long PaddedTokens, long Batches, double BackboneSeconds, double SaeSeconds)
{
    public double PaddingWaste => PaddedTokens == 0 ? 0 : 1.0 - (double)RealTokens / PaddedTokens;

    /// <summary>Counters accumulated since <paramref name="earlier"/>.</summary>
    public InferenceMetricsSnapshot Since(InferenceMetricsSnapshot earlier) =>
        new(Sequences - earlier.Sequences, RealTokens - earlier.RealTokens, PaddedTokens - earlier.PaddedTokens,
            Batches - earlier.Batches, BackboneSeconds - earlier.BackboneSeconds, SaeSeconds - earlier.SaeSeconds);
}
