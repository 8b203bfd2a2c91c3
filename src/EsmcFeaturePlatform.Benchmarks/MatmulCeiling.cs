using System.Diagnostics;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>A float32 matmul rate: best wall-clock GFLOP/s, and GFLOP per CPU-second over all repeats (robust to other load).</summary>
internal sealed record Ceiling(double Gflops, double GflopsPerCpuSecond);

/// <summary>This machine's float32 matmul rate through libtorch: the ceiling against which model throughput is judged.</summary>
internal static class MatmulCeiling
{
    public static Ceiling Measure(int n, int repeats)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n);
        var b = randn(n, n);
        for (var i = 0; i < 2; i++) a.mm(b).Dispose();
        var best = double.MaxValue;
        var cpu = CpuSeconds();
        for (var i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            a.mm(b).Dispose();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        cpu = CpuSeconds() - cpu;
        var flops = 2.0 * n * n * n;
        return new Ceiling(flops / best / 1e9, flops * repeats / cpu / 1e9);
    }

    /// <summary>User + system CPU of this whole process (every libtorch and .NET thread).</summary>
    public static double CpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
