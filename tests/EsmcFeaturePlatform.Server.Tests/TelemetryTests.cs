using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>The platform with Esmc:Telemetry:Prometheus on (/metrics served).</summary>
public sealed class PrometheusPlatformFactory() : PlatformFactory(new Dictionary<string, string> { ["Esmc:Telemetry:Prometheus"] = "true" });

/// <summary>
/// What an operator sees of a running platform: /metrics (Prometheus text, only when turned on) moves with the work
/// done, /healthz lists every check with its status, and an inference batch's span links to the request that caused it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TelemetryTests(PrometheusPlatformFactory platform, PlatformFactory plain)
    : IClassFixture<PrometheusPlatformFactory>, IClassFixture<PlatformFactory>
{
    private const string Analyze = "query($s: String!) { analyzeSequence(sae: \"" + TestEnvironment.SaeWithRealStats + "\", sequence: $s, normalize: false) { length } }";

    [Fact]
    public async Task Metrics_show_the_inference_counters_moved_by_an_analysis()
    {
        var sequence = UniqueSequence(40);
        var before = await ScrapeAsync(platform);

        var analysis = (await platform.DataAsync(Analyze, new { s = sequence }, PlatformFactory.ReaderKey))["analyzeSequence"]!;
        Assert.Equal(40, analysis["length"]!.GetValue<int>());
        var after = await ScrapeAsync(platform);

        // The meter is process-wide, so other hosts' work may add to it: at least this analysis is counted.
        Assert.True(Moved(before, after, "esmc_inference_residues_total") >= 40, Dump(after));
        Assert.True(Moved(before, after, "esmc_inference_batch_size_count") >= 1, Dump(after));
        Assert.True(Moved(before, after, "esmc_inference_batch_tokens_sum") >= 42, Dump(after));   // <cls> and <eos> included
        Assert.True(Moved(before, after, "esmc_inference_backbone_duration_seconds_count") >= 1, Dump(after));
        Assert.True(Moved(before, after, "esmc_inference_sae_duration_seconds_count") >= 1, Dump(after));
        Assert.True(Moved(before, after, "esmc_inference_requests_total", "esmc_outcome=\"ok\"") >= 1, Dump(after));
        // The host's own instrumentation is exported beside the platform's: ASP.NET Core's request duration.
        Assert.Contains(after.Keys, k => k.StartsWith("http_server_request_duration_seconds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_hold_no_keys_or_connection_strings()
    {
        var text = await platform.CreateClient().GetStringAsync("/metrics");
        Assert.Contains("esmc_inference", text, StringComparison.Ordinal);
        foreach (var secret in new[] { PlatformFactory.ReaderKey, PlatformFactory.CuratorKey, PlatformFactory.AdminKey, "AccountKey", "DefaultEndpointsProtocol" })
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Metrics_are_not_served_unless_the_operator_turns_them_on()
    {
        var response = await plain.CreateClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Healthz_lists_each_check_with_its_status()
    {
        var response = await plain.CreateClient().GetAsync("/healthz");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.Equal("ok", body["status"]!.GetValue<string>());
        var checks = body["checks"]!.AsObject();
        Assert.Equal(["cluster", "models", "search", "storage"], checks.Select(c => c.Key).Order(StringComparer.Ordinal));
        foreach (var (name, check) in checks)
        {
            Assert.True(check!["status"]!.GetValue<string>() == "healthy", $"{name}: {check.ToJsonString()}");
            Assert.False(string.IsNullOrWhiteSpace(check["description"]!.GetValue<string>()), name);
        }
        Assert.Equal(body["saes"]!.GetValue<int>() + " SAE(s) served", checks["models"]!["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_inference_batch_has_a_span_linked_to_the_request_that_caused_it()
    {
        using var spans = new StartedSpans();
        var trace = ActivityTraceId.CreateRandom();

        var (status, _) = await PostTracedAsync(plain, trace, Analyze, new { s = UniqueSequence(30) }, PlatformFactory.ReaderKey);
        Assert.Equal(200, status);

        var batches = spans.Named(PlatformTelemetry.InferenceBatchActivity);
        var linked = batches.Where(b => b.Links.Any(l => l.Context.TraceId == trace)).ToList();
        Assert.True(linked.Count == 1, $"{batches.Count} batch span(s), {linked.Count} linked to trace {trace}");
        Assert.Equal("ESMC-tiny", linked[0].GetTagItem(PlatformTelemetry.ModelTag));
        // A root of its own: the batch may serve several requests, each one linked.
        Assert.NotEqual(trace, linked[0].TraceId);
    }

    [Fact]
    public async Task An_indexing_job_moves_the_indexing_metrics_and_its_windows_link_to_the_request_that_started_it()
    {
        using var spans = new StartedSpans();
        var trace = ActivityTraceId.CreateRandom();
        var (path, records) = TestEnvironment.WriteCorpus(16, seed: 1717);
        var before = await ScrapeAsync(platform);

        var (status, body) = await PostTracedAsync(platform, trace,
            "mutation($p: String!) { indexCorpus(sae: \"" + TestEnvironment.SaeWithRealStats + "\", fastaPath: $p, topExamples: 3) { id } }", new { p = path }, PlatformFactory.AdminKey);
        Assert.True(status == 200, body.ToJsonString());
        var done = await ApiTestHelpers.WaitForJobAsync(platform, body["data"]!["indexCorpus"]!["id"]!.GetValue<string>());
        Assert.Equal("COMPLETED", done["status"]!.GetValue<string>());
        var after = await ScrapeAsync(platform);

        var distinct = records.Select(r => r.Id).Distinct().Count();
        Assert.True(Moved(before, after, "esmc_indexing_proteins_total") >= distinct, Dump(after));
        Assert.True(Moved(before, after, "esmc_indexing_windows_total") >= 1, Dump(after));
        Assert.True(Moved(before, after, "esmc_indexing_page_writes_total") >= 1, Dump(after));
        Assert.True(Moved(before, after, "esmc_indexing_job_lag_seconds_count") >= 1, Dump(after));
        var windows = spans.Named(PlatformTelemetry.IndexingWindowActivity).Where(w => w.Links.Any(l => l.Context.TraceId == trace)).ToList();
        Assert.NotEmpty(windows);
        // The job outlives the request: its windows are roots of their own, linked to it.
        Assert.All(windows, w => Assert.NotEqual(trace, w.TraceId));
    }

    /// <summary>Every span the host, Orleans and the platform start while it lives (on start: a span may end after the answer).</summary>
    private sealed class StartedSpans : IDisposable
    {
        private readonly ConcurrentQueue<Activity> started = new();
        private readonly ActivityListener listener;

        public StartedSpans()
        {
            listener = new ActivityListener
            {
                // The host's request span and Orleans' grain-call spans carry the request's trace to the silo's work.
                ShouldListenTo = s => s.Name is PlatformTelemetry.Name or "Microsoft.AspNetCore" || s.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStarted = started.Enqueue,
            };
            ActivitySource.AddActivityListener(listener);
        }

        public List<Activity> Named(string name) => [.. started.Where(a => a.Source.Name == PlatformTelemetry.Name && a.OperationName == name)];

        public void Dispose() => listener.Dispose();
    }

    /// <summary>POST /graphql as part of the trace <paramref name="trace"/> (a W3C traceparent header, as a traced client sends).</summary>
    private static async Task<(int Status, JsonObject Body)> PostTracedAsync(PlatformFactory factory, ActivityTraceId trace, string query, object variables, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { query, variables }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        request.Headers.Authorization = new("Bearer", key);
        var response = await factory.CreateClient().SendAsync(request);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    /// <summary>A sequence no other test analyzes, so the analysis cache cannot answer it without a batch.</summary>
    private static string UniqueSequence(int length)
    {
        const string residues = "ACDEFGHIKLMNPQRSTVWY";
        return new string([.. Enumerable.Range(0, length).Select(_ => residues[Random.Shared.Next(residues.Length)])]);
    }

    /// <summary>Prometheus text: every sample line as "name{labels}" -> value.</summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(PlatformFactory factory)
    {
        var response = await factory.CreateClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            // name{labels} value [timestamp]; label values may hold spaces, so split after the closing brace.
            var close = line.LastIndexOf('}');
            var series = close >= 0 ? line[..(close + 1)] : line[..line.IndexOf(' ')];
            var value = line[(series.Length + 1)..].Split(' ')[0];
            samples[series] = double.Parse(value, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    /// <summary>How much a metric (summed over its series, optionally those with a label) grew between two scrapes.</summary>
    private static double Moved(Dictionary<string, double> before, Dictionary<string, double> after, string name, string? label = null)
    {
        double Sum(Dictionary<string, double> samples) => samples
            .Where(s => (s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal)) && (label is null || s.Key.Contains(label, StringComparison.Ordinal)))
            .Sum(s => s.Value);
        return Sum(after) - Sum(before);
    }

    private static string Dump(Dictionary<string, double> samples) =>
        string.Join("\n", samples.Where(s => s.Key.StartsWith("esmc_", StringComparison.Ordinal)).Select(s => $"{s.Key} {s.Value}"));
}
