using System.Diagnostics;
using EsmcFeaturePlatform.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Issue 15's figures (BENCHMARKS.md section "Issue 15"): the worst requests of the attack campaign, each sent once,
/// anonymously, to the real in-process host; the process's CPU time and managed allocation over the request, and its
/// peak working set. Uses only what the host had before the fix, so the same file measures both sides.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WorstRequestBenchmark(PlatformFactory platform, ITestOutputHelper output) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;

    private static string Doubling(int depth) =>
        "query { ...L" + depth + " }\nfragment L0 on Query { saes { id } }\n"
        + string.Concat(Enumerable.Range(1, depth).Select(i => $"fragment L{i} on Query {{ ...L{i - 1} ...L{i - 1} }}\n"));

    private static string Protein(int seed)
    {
        var random = new Random(seed);
        return new string([.. Enumerable.Range(0, 30).Select(_ => "ACDEFGHIKLMNPQRSTVWY"[random.Next(20)])]);
    }

    [BenchmarkFact]
    public async Task Worst_requests_cpu_and_memory()
    {
        output.WriteLine(BenchmarkMachine.Describe());
        await platform.PostAsync("{ saes { id } }");   // warm-up: host started, schema built, SAE catalog loaded
        var sequence = "MKTAYIAKQRQISFVKSHFSRQ";
        var cases = new (string Name, string Query, object? Variables)[]
        {
            ("fragment doubling, depth 20", Doubling(20), null),
            ("fragment doubling, depth 22", Doubling(22), null),
            ("400 fields 'f' with different arguments", "query($s: ID!) {" + string.Concat(Enumerable.Range(0, 400).Select(i => $" f: feature(sae: $s, index: {i % 64}) {{ index }}")) + " }", new { s = Sae }),
            ("1,000 analyzeSequence aliases, one sequence", "query($s:ID!,$q:String!){" + string.Concat(Enumerable.Range(0, 1000).Select(i => $"a{i}:analyzeSequence(sae:$s,sequence:$q){{length}} ")) + "}", new { s = Sae, q = sequence }),
            ("600 analyzeSequence aliases, distinct 30-residue sequences", "query($s:ID!){" + string.Concat(Enumerable.Range(0, 600).Select(i => $"a{i}:analyzeSequence(sae:$s,sequence:\"{Protein(i)}\"){{length}} ")) + "}", new { s = Sae }),
            ("800 fuzzy search terms", "query($q: String!) { searchFeatures(query: $q, first: 5) { totalCount } }", new { q = string.Join(" ", Enumerable.Range(0, 800).Select(i => $"kinase{i}~2")) }),
        };
        // The old code runs this one until memory runs out (past 4 GB): only with ESMC_BENCH_RUNAWAY=1.
        if (Environment.GetEnvironmentVariable("ESMC_BENCH_RUNAWAY") == "1") cases = [("fragment doubling, depth 25", Doubling(25), null), .. cases];
        output.WriteLine("| request | bytes | answer | CPU | allocated | peak working set |");
        foreach (var (name, query, variables) in cases)
        {
            var process = Process.GetCurrentProcess();
            GC.Collect();
            var cpu = process.TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var wall = Stopwatch.StartNew();
            var (status, body) = await platform.PostAsync(query, variables);
            wall.Stop();
            process.Refresh();
            var answer = body["errors"] is { } errors ? $"{status}, {errors.AsArray().Count} error(s) {errors[0]!["extensions"]!["code"]}, {body.ToJsonString().Length:N0} chars" : $"{status}, data, {body.ToJsonString().Length:N0} chars";
            output.WriteLine($"| {name} | {query.Length:N0} | {answer} | {(process.TotalProcessorTime - cpu).TotalSeconds:F2} s ({wall.Elapsed.TotalSeconds:F2} s wall) | {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1e6:N0} MB | {process.PeakWorkingSet64 / 1e6:N0} MB |");
        }
        output.WriteLine(BenchmarkMachine.Describe());
    }
}
