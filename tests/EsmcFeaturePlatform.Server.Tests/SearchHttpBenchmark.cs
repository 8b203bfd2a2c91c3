using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Search.Lucene;
using EsmcFeaturePlatform.Search.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
/// the index-level benchmark, linked from the Search tests). 1, 10 and 100 closed-loop clients, each on its own
/// keep-alive connection (<see cref="RawHttpConnection"/>), for repeated and for never-repeated queries, and a
/// ceiling row: the same requests answered by a fixed response of the same size before any routing or GraphQL (what
/// Kestrel, loopback and the load generator cost on these 2 cores). The load generator runs in the same process, so
/// "CPU-ms per request" and "KiB allocated per request" are server + client.
/// Run (server GC, as the server's own process uses: the Web SDK turns it on): <c>DOTNET_gcServer=1 ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Server.Tests -c Release
/// --filter FullyQualifiedName~SearchHttpBenchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Benchmark")]
public sealed class SearchHttpBenchmark(ITestOutputHelper output)
{
    private const int Features = 131_072;
    private const string CeilingPath = "/benchmark/ceiling";

    private const string Query = "query($q: String!, $s: [DescriptionStatus!]) { searchFeatures(query: $q, status: $s, first: 20) "
        + "{ totalCount edges { cursor score highlights { field snippets } node { index } } pageInfo { hasNextPage endCursor } } }";

    private static IReadOnlyList<string> Queries => SyntheticFeatures.BenchmarkQueries;

    [BenchmarkFact]
    public async Task SearchFeatures_latency_over_loopback_http_with_131072_features()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), TestEnvironment.UniqueName("bench-search"));
        try
        {
            await MeasureAsync(dataRoot);
        }
        finally
        {
            TempFolders.TryDelete(dataRoot);   // the prebuilt index: about 60 MB a run
        }
    }

    private async Task MeasureAsync(string dataRoot)
    {
        var rebuild = Stopwatch.StartNew();
        await using (var index = new LuceneFeatureIndex(new LuceneSearchOptions { IndexDirectory = Path.Combine(dataRoot, "search") }))
            await index.RebuildAsync(SyntheticFeatures.Generate(Features, seed: 42));
        rebuild.Stop();

        var ceiling = new FixedResponse();
        await using var platform = new PlatformFactory().WithWebHostBuilder(b => b
            .UseSetting("Esmc:DataRoot", dataRoot)
            .UseSetting("Esmc:RateLimit:Enabled", "false")
            .ConfigureServices(services => services.AddSingleton<IStartupFilter>(ceiling)));
        platform.UseKestrel(0);
        platform.StartServer();
        var server = new Uri(platform.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()
            .Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
        byte[] Request(string path, string q, bool filtered) => RawHttpConnection.Post(server, path,
            JsonSerializer.SerializeToUtf8Bytes(new { query = Query, variables = new { q, s = filtered ? new[] { "APPROVED" } : null } }));
        var requests = new Dictionary<string, byte[][]>
        {
            ["repeated"] = [.. Enumerable.Range(0, Queries.Count * 4).Select(i => Request("/graphql", Queries[i % Queries.Count], i % 4 == 0))],
            ["unique"] = [.. SyntheticFeatures.UniqueQueries(7000, seed: 7).Select((q, i) => Request("/graphql", q, i % 4 == 0))],
            ["ceiling"] = [.. Enumerable.Range(0, Queries.Count * 4).Select(i => Request(CeilingPath, Queries[i % Queries.Count], i % 4 == 0))],
        };
        var sent = requests.Keys.ToDictionary(k => k, _ => new System.Runtime.CompilerServices.StrongBox<int>(-1));
        var parsed = 0;
        long responseBytes = 0;
        async Task<double> CallAsync(RawHttpConnection connection, string kind)
        {
            var all = requests[kind];
            var n = Interlocked.Increment(ref sent[kind].Value);
            var clock = Stopwatch.StartNew();
            var (status, body) = await connection.SendAsync(all[n % all.Length]);
            var elapsed = clock.Elapsed.TotalMilliseconds;
            Interlocked.Add(ref responseBytes, body.Length);
            // Every response is checked for its status and for errors; one in 64 is parsed whole (parsing each would
            // cost these 2 cores more than the server's own work for a cached query).
            if (status != 200 || body.Span.IndexOf("\"errors\""u8) >= 0) Assert.Fail($"HTTP {status}: {Encoding.UTF8.GetString(body.Span)}");
            if (Interlocked.Increment(ref parsed) % 64 == 0)
            {
                var searched = JsonNode.Parse(body.Span)!["data"]!["searchFeatures"]!;
                Assert.True(kind != "repeated" || searched["totalCount"]!.GetValue<int>() > 0, searched.ToJsonString());
            }
            return elapsed;
        }

        var connections = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => RawHttpConnection.OpenAsync(server)));
        try
        {
            // Warm-up: tiered JIT (a cached request is cheap enough that tier-0 code would dominate it), connections, caches.
            for (var i = 0; i < 3000; i++) await CallAsync(connections[i % connections.Length], "repeated");
            for (var i = 0; i < 200; i++) await CallAsync(connections[i % connections.Length], "unique");
            var (_, sample) = await connections[0].SendAsync(requests["repeated"][0]);
            ceiling.Body = sample.ToArray();
            for (var i = 0; i < 3000; i++) await CallAsync(connections[i % connections.Length], "ceiling");

            var report = new StringBuilder();
            report.AppendLine("Start: " + BenchmarkMachine.Describe());
            report.AppendLine(CultureInfo.InvariantCulture, $"searchFeatures over loopback HTTP/1.1, {Features:N0} features (index prebuilt in {rebuild.Elapsed.TotalSeconds:F1} s), first 20 with highlights, a quarter filtered by status, {Environment.ProcessorCount} cores, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC");
            report.AppendLine();
            report.AppendLine("Queries: repeated = the 12 benchmark queries in turn (the index's result cache answers after their first run); unique = never the same twice; "
                + $"ceiling = the same requests answered with a fixed {ceiling.Body.Length:N0}-byte response before routing and GraphQL.");
            report.AppendLine();
            report.AppendLine("| queries | clients | requests | p50 (ms) | p99 (ms) | requests/s | CPU-ms per request (server + client) | KiB allocated per request | mean response bytes | GC pauses (% of the time) |");
            report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            // Single client last: right after start-up the host is still busy (tiered JIT, the silo's own start-up work).
            foreach (var (kind, clients, count) in new[] { ("repeated", 10, 2000), ("repeated", 100, 10000), ("repeated", 1, 1000), ("ceiling", 100, 20000),
                ("unique", 10, 1000), ("unique", 100, 2000), ("unique", 1, 500) })
            {
                var latencies = new double[count];
                var next = -1;
                Interlocked.Exchange(ref responseBytes, 0);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var allocated = GC.GetTotalAllocatedBytes();
                var paused = GC.GetTotalPauseDuration();
                var wall = Stopwatch.StartNew();
                await Task.WhenAll(connections.Take(clients).Select(connection => Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count) latencies[i] = await CallAsync(connection, kind);
                })));
                wall.Stop();
                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                var kib = (GC.GetTotalAllocatedBytes() - allocated) / 1024.0;
                Array.Sort(latencies);
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {kind} | {clients} | {count} | {Percentile(latencies, 0.50):F1} | {Percentile(latencies, 0.99):F1} | {count / wall.Elapsed.TotalSeconds:F0} | {cpuMs / count:F2} | {kib / count:F1} | {responseBytes / count:N0} | {100 * (GC.GetTotalPauseDuration() - paused) / wall.Elapsed:F0}% |"));
            }
            report.AppendLine("End: " + BenchmarkMachine.Describe());
            output.WriteLine(report.ToString());
            if (Environment.GetEnvironmentVariable("ESMC_BENCHMARK_OUT") is { Length: > 0 } path) await File.AppendAllTextAsync(path, report.ToString());
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>
    /// Answers <see cref="CeilingPath"/> with <see cref="Body"/> ahead of the whole pipeline (routing, rate limits,
    /// GraphQL): the same connection, request and response sizes as a search, and nothing else.
    /// </summary>
    private sealed class FixedResponse : IStartupFilter
    {
        public byte[] Body { get; set; } = [];

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path != CeilingPath)
                {
                    await nextMiddleware(context);
                    return;
                }
                while (true)
                {
                    var read = await context.Request.BodyReader.ReadAsync();
                    context.Request.BodyReader.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted) break;
                }
                context.Response.ContentType = "application/json; charset=utf-8";
                context.Response.ContentLength = Body.Length;
                await context.Response.Body.WriteAsync(Body);
            });
            next(app);
        };
    }
}
