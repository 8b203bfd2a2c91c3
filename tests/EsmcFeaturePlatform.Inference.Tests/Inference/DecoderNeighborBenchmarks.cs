using System.Diagnostics;
using System.Globalization;
using EsmcFeaturePlatform.Inference.TorchSharp.Sae;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// Cost of nearest-features-by-decoder-cosine at ESMC-6B SAE size (c = 131,072, d = 2560; W_dec is 1.34 GB), to choose
/// between caching a normalised W_dec copy and computing per call. Runs only with ESMC_RUN_BENCHMARKS=1 (needs ~3 GB of
/// RAM); prints measurements, asserts only that the answer is right, never a time.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class DecoderNeighborBenchmarks(ITestOutputHelper output)
{
    [BenchmarkFact]
    public void Nearest_features_at_131072_by_2560()
    {
        const long c = 131_072, d = 2560;
        manual_seed(5);
        using var wDec = randn(c, d);
        // Plant a near-duplicate of feature 17 at 90,000 so the answer is known.
        wDec[90_000].copy_(wDec[17] * 2 + randn(d) * 0.05);

        var clock = Stopwatch.StartNew();
        using var norms = DecoderNeighbors.RowNorms(wDec);
        var normsMs = clock.Elapsed.TotalMilliseconds;

        DecoderNeighbors.Nearest(wDec, norms, [1], 10);   // warm-up
        var single = Time(() => DecoderNeighbors.Nearest(wDec, norms, [17], 10), 5, out var first);
        Assert.Equal(90_000, first[0][0].Index);
        Assert.True(first[0][0].Cosine > 0.99f);
        var batch = Time(() => DecoderNeighbors.Nearest(wDec, norms, [.. Enumerable.Range(0, 16)], 10), 3, out _);

        string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        output.WriteLine($"row norms (once per loaded SAE, 512 KB kept): {F(normsMs)} ms");
        output.WriteLine($"one feature, cached norms: {F(single)} ms; without the cache it would be {F(single + normsMs)} ms");
        output.WriteLine($"16 features in one call (a describe chunk): {F(batch)} ms, {F(batch / 16)} ms per feature");
        output.WriteLine($"threads: {get_num_threads()}");
    }

    private static double Time(Func<Abstractions.DecoderNeighbor[][]> run, int repeats, out Abstractions.DecoderNeighbor[][] last)
    {
        last = run();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++) last = run();
        return clock.Elapsed.TotalMilliseconds / repeats;
    }
}
