using System.Diagnostics;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>A float32 matmul rate: best wall-clock GFLOP/s, and the median of the per-repeat GFLOP per CPU-second.</summary>
internal sealed record Ceiling(double Gflops, double GflopsPerCpuSecond);

/// <summary>This machine's float32 matmul rate through libtorch and its MKL: the ceiling against which model throughput is judged.</summary>
/// <remarks>
/// Per CPU-second because that is what the workloads are judged in, and a median of the repeats because on this shared
/// machine type one repeat in ten can run at half speed (another tenant, a runtime thread compiling): a rate over all
/// repeats moved 78-144 GFLOP per CPU-second between idle runs of the peer benchmark, the per-repeat median read 126 and
/// 129 in two back-to-back idle runs.
/// </remarks>
internal static class MatmulCeiling
{
    /// <summary>
    /// libtorch's <c>mm</c> and, where this libtorch has it, MKL's packed product (<c>cblas_sgemm_compute</c> with one
    /// operand packed beforehand, as our engine holds its weights; the packing is not timed), alternating repeat by repeat
    /// so both are read in the same conditions.
    /// </summary>
    public static (Ceiling Libtorch, Ceiling? Packed) Measure(int n, int repeats)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randn(n, n);
        var b = randn(n, n);
        var c = empty(n, n);
        using var packed = PackedMatrix.TryPack(b, transposed: false);
        for (var i = 0; i < 2; i++)
        {
            a.mm(b).Dispose();
            packed?.MultiplyInto(a, c);
        }
        var flops = 2.0 * n * n * n;
        var libtorch = new Rates(flops);
        var mkl = new Rates(flops);
        for (var i = 0; i < repeats; i++)
        {
            libtorch.Time(() => a.mm(b).Dispose());
            if (packed is not null) mkl.Time(() => packed.MultiplyInto(a, c));
        }
        return (libtorch.Ceiling(), packed is null ? null : mkl.Ceiling());
    }

    private sealed class Rates(double flops)
    {
        private readonly List<double> _perCpuSecond = [];
        private double _bestSeconds = double.MaxValue;

        public void Time(Action product)
        {
            var cpu = CpuSeconds();
            var sw = Stopwatch.StartNew();
            product();
            _bestSeconds = Math.Min(_bestSeconds, sw.Elapsed.TotalSeconds);
            _perCpuSecond.Add(flops / (CpuSeconds() - cpu) / 1e9);
        }

        public Ceiling Ceiling()
        {
            _perCpuSecond.Sort();
            return new Ceiling(flops / _bestSeconds / 1e9, _perCpuSecond[_perCpuSecond.Count / 2]);
        }
    }

    /// <summary>User + system CPU of this whole process (every libtorch and .NET thread).</summary>
    public static double CpuSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }
}
