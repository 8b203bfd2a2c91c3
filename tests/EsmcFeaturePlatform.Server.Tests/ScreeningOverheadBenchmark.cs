using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// What sequence screening adds to analyzeSequence and to indexing (issue 14, BENCHMARKS.md): the same workload on
/// the real host with screening off and on (a database of 10,000 generated proteins), off again to show the noise,
/// plus the screening time of the same sequences measured alone. Printed, never asserted against a clock.
/// Run: <c>ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Server.Tests -c Release --filter
/// "FullyQualifiedName~ScreeningOverhead" --logger "console;verbosity=detailed"</c>; ESMC_BENCH_MODEL=tiny|mid (default mid).
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Benchmark")]
public sealed class ScreeningOverheadBenchmark(ITestOutputHelper output)
{
    private static readonly DemoModelSize Mid = new("ESMC-bench-d320", 320, 5, 6, 4, 4096, 32);

    [BenchmarkFact]
    public async Task Screening_overhead_on_analyzeSequence_and_indexing()
    {
        var size = Environment.GetEnvironmentVariable("ESMC_BENCH_MODEL") == "tiny" ? DemoModelSize.Tiny : Mid;
        var root = Path.Combine(Path.GetTempPath(), "esmc-bench-models");
        var sae = DemoModel.Create(root, size)[0];
        var generator = new SyntheticProteins(seed: 142);
        var database = Path.Combine(Path.GetTempPath(), $"esmc-bench-controlled-{Guid.NewGuid():N}.fasta");
        await File.WriteAllLinesAsync(database, Enumerable.Range(0, 10_000).SelectMany(i => new[] { $">C{i} category=toxin", generator.Protein(100, 600) }));

        var report = new StringBuilder();
        report.AppendLine("Start: " + BenchmarkMachine.Describe());
        report.AppendLine(CultureInfo.InvariantCulture, $"Model {size.ModelName} (d {size.DModel}, {size.Layers} layers), SAE {sae}; screening database 10,000 generated proteins (100-600 residues).");
        report.AppendLine("analyzeSequence: 40 distinct random 300-residue proteins, one request at a time (no cache hits). Indexing: 256 random proteins of 100-400 residues, one silo.");
        report.AppendLine();
        report.AppendLine("| pass | screening | analyzeSequence mean ms | indexing proteins/s | screening alone, mean ms per sequence |");
        report.AppendLine("| --- | --- | --- | --- | --- |");
        try
        {
            var pass = 0;
            foreach (var on in new[] { false, true, false, true })
            {
                pass++;
                var settings = new Dictionary<string, string>
                {
                    ["Esmc:ModelRoot"] = root,
                    ["Esmc:RateLimit:Enabled"] = "false",
                    ["Esmc:Indexing:MaxBatchProteins"] = "32",
                };
                if (on) settings["Esmc:Safety:SequenceDatabase"] = database;
                await using var platform = new PlatformFactory(settings);
                var queries = Enumerable.Range(0, 40).Select(_ => generator.Protein(300)).ToArray();
                await platform.DataAsync("query($s: String!) { analyzeSequence(sae: \"" + sae + "\", sequence: $s) { length } }", new { s = generator.Protein(300) });   // warm-up
                var clock = Stopwatch.StartNew();
                foreach (var query in queries)
                    await platform.DataAsync("query($s: String!) { analyzeSequence(sae: \"" + sae + "\", sequence: $s) { length } }", new { s = query });
                var analyzeMs = clock.Elapsed.TotalMilliseconds / queries.Length;

                var corpus = Path.Combine(Path.GetTempPath(), $"esmc-bench-screen-corpus-{Guid.NewGuid():N}.fasta");
                await File.WriteAllLinesAsync(corpus, Enumerable.Range(0, 256).SelectMany(i => new[] { $">p{pass}_{i}", generator.Protein(100, 400) }));
                clock.Restart();
                var job = (await platform.DataAsync("mutation($s: ID!, $p: String!) { indexCorpus(sae: $s, fastaPath: $p) { id } }", new { s = sae, p = corpus }, PlatformFactory.AdminKey))["indexCorpus"]!;
                JsonNode polled;
                do
                {
                    await Task.Delay(50);
                    polled = (await platform.DataAsync("query($id: ID!) { job(id: $id) { status processed } }", new { id = job["id"]!.GetValue<string>() }))["job"]!;
                } while (polled["status"]!.GetValue<string>() is "QUEUED" or "RUNNING");
                var indexRate = 256 / clock.Elapsed.TotalSeconds;
                File.Delete(corpus);

                var policy = platform.Services.GetRequiredService<IScreeningPolicy>();
                var request = new ScreeningRequest("benchmark", new ScreeningCaller("bench", "admin"));
                clock.Restart();
                foreach (var query in queries) await policy.ScreenSequenceAsync(query, request);
                var screenMs = clock.Elapsed.TotalMilliseconds / queries.Length;
                report.AppendLine(CultureInfo.InvariantCulture, $"| {pass} | {(on ? "on" : "off")} | {analyzeMs:F1} | {indexRate:F1} | {screenMs:F2} |");
            }
        }
        finally
        {
            File.Delete(database);
        }
        report.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(report.ToString());
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "esmc-screening-overhead.md"), report.ToString());
    }
}
