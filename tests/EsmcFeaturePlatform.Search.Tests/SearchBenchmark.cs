using System.Diagnostics;
using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Search.Lucene;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Xunit;
using Xunit.Abstractions;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>
/// Lucene search benchmark: rebuild time and query latency (p50/p99) for 16,384 and 131,072 synthetic features,
/// single-threaded and under concurrent clients, for repeated and for never-repeated queries, with the CPU time each query costs and where it goes (match and sort
/// against highlighting and stored fields). Measures this machine, so it asserts only correctness; run with
/// <c>ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Search.Tests -c Release --filter Category=Benchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class SearchBenchmark(ITestOutputHelper output)
{
    private static IReadOnlyList<string> Queries => SyntheticFeatures.BenchmarkQueries;

    [BenchmarkFact]
    [Trait("Category", "Benchmark")]
    public Task Lucene_with_16384_features() => RunAsync(16_384);

    [BenchmarkFact]
    [Trait("Category", "Benchmark")]
    public Task Lucene_with_131072_features() => RunAsync(131_072);

    private async Task RunAsync(int featureCount)
    {
        using var folder = new TempDirectory();
        await using var index = new LuceneFeatureIndex(new LuceneSearchOptions { IndexDirectory = folder.Path });
        var report = new StringBuilder();
        report.AppendLine("Start: " + BenchmarkMachine.Describe());
        report.AppendLine(CultureInfo.InvariantCulture, $"Lucene, {featureCount:N0} features, {Environment.ProcessorCount} cores");

        var rebuild = Stopwatch.StartNew();
        await index.RebuildAsync(SyntheticFeatures.Generate(featureCount, seed: 42));
        rebuild.Stop();
        Assert.Equal(featureCount, await index.CountAsync());
        report.AppendLine(CultureInfo.InvariantCulture, $"  rebuild: {rebuild.Elapsed.TotalSeconds:F1} s ({featureCount / rebuild.Elapsed.TotalSeconds:N0} features/s)");

        // Warm-up: JIT, caches, doc values.
        foreach (var q in Queries) Assert.True((await index.SearchAsync(new FeatureSearchQuery(q))).TotalCount > 0, q);

        // Two workloads: the 12 benchmark queries over and over (after their first run, the result cache answers), and
        // queries that never repeat (every one parsed, matched, sorted and highlighted).
        var unique = SyntheticFeatures.UniqueQueries(7000, seed: 7);
        var uniqueNext = 0;
        foreach (var (workload, pick) in new (string, Func<int, FeatureSearchQuery>)[]
        {
            ("repeated", QueryNumber),
            ("unique", i => new FeatureSearchQuery(unique[Interlocked.Increment(ref uniqueNext) % unique.Count], Statuses: i % 4 == 0 ? [DescriptionStatus.Approved] : null)),
        })
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"  {workload} queries:");
            var single = new List<double>();
            for (var i = 0; i < 600; i++) single.Add(await TimeQueryAsync(index, pick(i)));
            report.AppendLine(Line("1 client", single, single.Count / (single.Sum() / 1000)));

            foreach (var clients in new[] { 10, 100 })
            {
                var latencies = new List<double>[clients];
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
                {
                    var mine = latencies[c] = [];
                    for (var i = 0; i < 3000 / clients; i++) mine.Add(await TimeQueryAsync(index, pick(c * 31 + i)));
                })));
                wall.Stop();
                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                var all = latencies.SelectMany(l => l).ToList();
                report.AppendLine(Line($"{clients} clients", all, all.Count / wall.Elapsed.TotalSeconds)
                    + string.Create(CultureInfo.InvariantCulture, $", {cpuMs / all.Count:F2} CPU-ms per query"));
            }
        }
        report.Append(Breakdown(index));
        report.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("ESMC_BENCHMARK_OUT") is { Length: > 0 } file) await File.AppendAllTextAsync(file, report.ToString());
    }

    private static FeatureSearchQuery QueryNumber(int i) =>
        new(Queries[i % Queries.Count], Statuses: i % 4 == 0 ? [DescriptionStatus.Approved] : null);

    /// <summary>
    /// Single-threaded, per query: the whole search, then only Lucene's match-count-sort of the same query and filter
    /// (no stored fields, no highlights; the whole search bypasses the result cache), then only counting the matches; the difference is the highlighting and
    /// stored-field cost. Allocations are the bytes the whole search allocates on its thread.
    /// </summary>
    private static string Breakdown(LuceneFeatureIndex index)
    {
        const int rounds = 20;
        using var reader = DirectoryReader.Open(FSDirectory.Open(index.LiveGenerationPath));
        var searcher = new IndexSearcher(reader);
        var text = new StringBuilder("  per query, single thread: | query | matches | whole search (ms) | match + sort only (ms) | count only (ms) | allocated (KiB) |\n");
        for (var q = 0; q < Queries.Count; q++)
        {
            var query = QueryNumber(q);
            var main = index.ParseQuery(query.Query);
            var filter = LuceneFeatureIndex.BuildFilter(query);
            var total = 0;
            var whole = Stopwatch.StartNew();
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            for (var r = 0; r < rounds; r++) total = (int)index.Search(query, useCache: false).TotalCount;
            allocated = (GC.GetAllocatedBytesForCurrentThread() - allocated) / rounds;
            whole.Stop();
            var match = Stopwatch.StartNew();
            for (var r = 0; r < rounds; r++) Assert.Equal(total, searcher.Search(main, filter, 21, LuceneFeatureIndex.ResultOrder, true, false).TotalHits);
            match.Stop();
            var count = Stopwatch.StartNew();
            for (var r = 0; r < rounds; r++)
            {
                var counter = new TotalHitCountCollector();
                searcher.Search(main, filter, counter);
                Assert.Equal(total, counter.TotalHits);
            }
            count.Stop();
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"  | {query.Query}{(filter is null ? "" : " (status filter)")} | {total:N0} | {whole.Elapsed.TotalMilliseconds / rounds:F2} | {match.Elapsed.TotalMilliseconds / rounds:F2} | {count.Elapsed.TotalMilliseconds / rounds:F2} | {allocated / 1024.0:F0} |\n"));
        }
        return text.ToString();
    }

    private static async Task<double> TimeQueryAsync(LuceneFeatureIndex index, FeatureSearchQuery query)
    {
        var watch = Stopwatch.StartNew();
        var result = await index.SearchAsync(query);
        watch.Stop();
        Assert.NotNull(result.Hits);
        return watch.Elapsed.TotalMilliseconds;
    }

    private static string Line(string label, List<double> latenciesMs, double queriesPerSecond)
    {
        latenciesMs.Sort();
        double P(double p) => latenciesMs[Math.Min(latenciesMs.Count - 1, (int)Math.Ceiling(p * latenciesMs.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture,
            $"  {label,-11}: p50 {P(0.50):F2} ms, p99 {P(0.99):F2} ms, {queriesPerSecond:N0} queries/s ({latenciesMs.Count} queries, first 20 with highlights)");
    }
}
