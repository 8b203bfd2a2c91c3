using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Search.Lucene;
using EsmcFeaturePlatform.Search.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// searchFeatures latency over real loopback HTTP (issue 4, BENCHMARKS.md section 3): the real host on Kestrel, GraphQL,
/// and its Lucene index prebuilt with 131,072 synthetic features of realistic description lengths (the generator of
/// the index-level benchmark, linked from the Search tests). 1, 10 and 100 closed-loop clients on one HttpClient with
/// enough connections, for repeated and for never-repeated queries; the load generator runs in the same process, so "CPU-ms per request" is server + client.
/// Run (server GC, as the server's own process uses: the Web SDK turns it on): <c>DOTNET_gcServer=1 ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Server.Tests -c Release
/// --filter FullyQualifiedName~SearchHttpBenchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Benchmark")]
public sealed class SearchHttpBenchmark(ITestOutputHelper output)
{
    private const int Features = 131_072;

    private const string Query = "query($q: String!, $s: [DescriptionStatus!]) { searchFeatures(query: $q, status: $s, first: 20) "
        + "{ totalCount edges { cursor score highlights { field snippets } node { index } } pageInfo { hasNextPage endCursor } } }";

    private static IReadOnlyList<string> Queries => SyntheticFeatures.BenchmarkQueries;

    [BenchmarkFact]
    public async Task SearchFeatures_latency_over_loopback_http_with_131072_features()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), TestEnvironment.UniqueName("bench-search"));
        var rebuild = Stopwatch.StartNew();
        await using (var index = new LuceneFeatureIndex(new LuceneSearchOptions { IndexDirectory = Path.Combine(dataRoot, "search") }))
            await index.RebuildAsync(SyntheticFeatures.Generate(Features, seed: 42));
        rebuild.Stop();

        await using var platform = new PlatformFactory().WithWebHostBuilder(b => b
            .UseSetting("Esmc:DataRoot", dataRoot)
            .UseSetting("Esmc:RateLimit:Enabled", "false"));
        platform.UseKestrel(0);
        platform.StartServer();
        var server = platform.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()
            .Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(server) };

        var unique = SyntheticFeatures.UniqueQueries(7000, seed: 7);
        var uniqueNext = 0;
        async Task<double> CallAsync(int i, bool repeated = true)
        {
            var q = repeated ? Queries[i % Queries.Count] : unique[Interlocked.Increment(ref uniqueNext) % unique.Count];
            var body = JsonSerializer.Serialize(new { query = Query, variables = new { q, s = i % 4 == 0 ? new[] { "APPROVED" } : null } });
            var clock = Stopwatch.StartNew();
            using var response = await http.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            var elapsed = clock.Elapsed.TotalMilliseconds;
            var json = JsonNode.Parse(text)!;
            Assert.True(response.IsSuccessStatusCode && json["errors"] is null, text);
            Assert.True(!repeated || json["data"]!["searchFeatures"]!["totalCount"]!.GetValue<int>() > 0, text);
            return elapsed;
        }

        // Warm-up: tiered JIT (a cached request is cheap enough that tier-0 code would dominate it), connections, caches.
        for (var i = 0; i < 3000; i++) await CallAsync(i);
        for (var i = 0; i < 200; i++) await CallAsync(i, repeated: false);

        var report = new StringBuilder();
        report.AppendLine("Start: " + BenchmarkMachine.Describe());
        report.AppendLine(CultureInfo.InvariantCulture, $"searchFeatures over loopback HTTP/1.1, {Features:N0} features (index prebuilt in {rebuild.Elapsed.TotalSeconds:F1} s), first 20 with highlights, a quarter filtered by status, {Environment.ProcessorCount} cores, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC");
        report.AppendLine();
        report.AppendLine("Queries: repeated = the 12 benchmark queries in turn (the index's result cache answers after their first run); unique = never the same twice.");
        report.AppendLine();
        report.AppendLine("| queries | clients | requests | p50 (ms) | p99 (ms) | requests/s | CPU-ms per request (server + client) |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        // Single client last: right after start-up the host is still busy (tiered JIT, the silo's own start-up work).
        foreach (var (repeated, clients, requests) in new[] { (true, 10, 2000), (true, 100, 10000), (true, 1, 1000), (false, 10, 1000), (false, 100, 2000), (false, 1, 500) })
        {
            var latencies = new double[requests];
            var next = -1;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests) latencies[i] = await CallAsync(i, repeated);
            })));
            wall.Stop();
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            Array.Sort(latencies);
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(repeated ? "repeated" : "unique")} | {clients} | {requests} | {Percentile(latencies, 0.50):F1} | {Percentile(latencies, 0.99):F1} | {requests / wall.Elapsed.TotalSeconds:F0} | {cpuMs / requests:F2} |"));
        }
        report.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("ESMC_BENCHMARK_OUT") is { Length: > 0 } path) await File.AppendAllTextAsync(path, report.ToString());
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
