using System.Diagnostics;
using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Benchmarks;
using EsmcFeaturePlatform.Inference.TorchSharp;

// Inference benchmark (issue 2; with --peer pytorch, issue 18's side-by-side run against a PyTorch peer). Writes random real-size checkpoints once (cached), then measures
// residues/s by length, useful FLOP/s against this machine's measured float32 matmul rate, padding
// waste on a mixed-length stream, the saving from stopping at the SAE layer, the SAE's share of the
// time and peak memory. Prints a Markdown report (the body of BENCHMARKS.md's inference section).
var options = BenchmarkOptions.Parse(args);
if (options is null) return 0;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
TorchSharp.torch.set_num_threads(options.Threads);

var report = new StringBuilder();
void Line(string s = "") { Console.WriteLine(s); report.AppendLine(s); }

if (options.Profile)
{
    OpProfile.Run(Line, Math.Max(1, options.MaxBatchTokens / 102), 102, 3);
    OpProfile.Run(Line, Math.Max(1, options.MaxBatchTokens / 1002), 1002, 3);
}
else if (options.PackingPairs > 0)
{
    var size = DemoModelSize.Esmc300M;
    Line($"## MKL-packed weights against unpacked ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {MachineInfo.Describe()}, {options.Threads} threads, load average {MachineInfo.LoadAverage()})");
    Line();
    var saeRepo = PrepareModel(size);
    PackingComparison.Run(Line, size, Path.Combine(options.ModelCache, size.ModelName), Path.Combine(options.ModelCache, saeRepo), options.Lengths,
        options.TokensPerPoint, options.PackingPairs);
    Line($"Load average at the end: {MachineInfo.LoadAverage()}.");
}
else if (options.Peer)
{
    // Issue 18: our engine against the PyTorch peer on ESMC-300M shapes, nothing else.
    var size = DemoModelSize.Esmc300M;
    Line($"## Inference against the PyTorch peer ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {MachineInfo.Describe()}, {options.Threads} threads, load average {MachineInfo.LoadAverage()})");
    Line();
    var saeRepo = PrepareModel(size);
    new PeerComparison(options, size, Path.Combine(options.ModelCache, size.ModelName), Path.Combine(options.ModelCache, saeRepo)).Run(Line);
    Line($"Load average at the end: {MachineInfo.LoadAverage()}.");
}
else
{
    Line($"## Inference ({DateTime.UtcNow:yyyy-MM-dd}, {MachineInfo.Describe()}, {options.Threads} torch threads, float32 CPU)");
    Line();
    var (libtorchCeiling, packedCeiling) = MatmulCeiling.Measure(2048, repeats: 10);
    var ceiling = Math.Max(libtorchCeiling.Gflops, packedCeiling?.Gflops ?? 0);   // the better of libtorch's mm and MKL's packed product
    Line($"Measured float32 matmul ceiling (2048x2048x2048, {options.Threads} threads): **{ceiling:F1} GFLOP/s**.");
    Line();

    foreach (var size in options.Models)
    {
        var saeRepo = PrepareModel(size);
        var runner = new InferenceRunner(options, size, Path.Combine(options.ModelCache, size.ModelName), Path.Combine(options.ModelCache, saeRepo), ceiling);
        runner.Run(Line);
    }
}

if (options.MarkdownOut is not null)
{
    File.WriteAllText(options.MarkdownOut, report.ToString());
    Console.Error.WriteLine($"[bench] report written to {options.MarkdownOut}");
}
return 0;

string PrepareModel(DemoModelSize size)
{
    Console.Error.WriteLine($"[bench] writing/validating random {size.ModelName} under {options.ModelCache} ...");
    var sw = Stopwatch.StartNew();
    var saeIds = DemoModel.Create(options.ModelCache, size);
    Console.Error.WriteLine($"[bench] model ready in {sw.Elapsed.TotalSeconds:F1} s");
    return saeIds[0].Split('/')[0];
}
