using System.Diagnostics;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>This machine's float32 matmul rate: the ceiling against which model throughput is judged.</summary>
internal static class MatmulCeiling
{
    public static double Measure(int n, int repeats)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n);
        var b = randn(n, n);
        for (var i = 0; i < 2; i++) a.mm(b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            a.mm(b).Dispose();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
