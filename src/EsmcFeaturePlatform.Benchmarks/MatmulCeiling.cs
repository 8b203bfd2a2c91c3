using System.Diagnostics;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>A float32 matmul rate: best wall-clock GFLOP/s, and the median of the per-repeat GFLOP per CPU-second.</summary>
internal sealed record Ceiling(double Gflops, double GflopsPerCpuSecond);

/// <summary>This machine's float32 matmul rate through libtorch: the ceiling against which model throughput is judged.</summary>
/// <remarks>
/// Per CPU-second because that is what the workloads are judged in, and a median of the repeats because on this shared
/// machine type one repeat in ten can run at half speed (another tenant, a runtime thread compiling): a rate over all
/// repeats moved 78-144 GFLOP per CPU-second between idle runs of the peer benchmark, the per-repeat median read 126 and
/// 129 in two back-to-back idle runs.
/// </remarks>
internal static class MatmulCeiling
{
    public static Ceiling Measure(int n, int repeats)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n);
        var b = randn(n, n);
        for (var i = 0; i < 2; i++) a.mm(b).Dispose();
        var flops = 2.0 * n * n * n;
        var best = double.MaxValue;
        var rates = new List<double>(repeats);
        for (var i = 0; i < repeats; i++)
        {
            var cpu = CpuSeconds();
            var sw = Stopwatch.StartNew();
            a.mm(b).Dispose();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
            rates.Add(flops / (CpuSeconds() - cpu) / 1e9);
        }
        rates.Sort();
        return new Ceiling(flops / best / 1e9, rates[rates.Count / 2]);
    }

    /// <summary>User + system CPU of this whole process (every libtorch and .NET thread).</summary>
    public static double CpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
