using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>Bulk export (JSON Lines, CSV), the Biohub-style REST routes and rate limits, over HTTP against the real host.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ExportApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private static readonly string SaePath = "/api/v1/saes/" + Sae;

    private async Task<(JsonNode[] Features, Dictionary<int, string[]> TopIds)> IndexAndReadAsync()
    {
        var (path, _) = TestEnvironment.WriteCorpus(12, seed: 77);
        await ApiTestHelpers.IndexAsync(platform, Sae, path, topExamples: 3);
        await platform.DataAsync("mutation { proposeDescription(sae: \"" + Sae + "\", index: 4, label: \"exported, \\\"quoted\\\"\", text: \"line one\\nline two\") { version } }", key: PlatformFactory.CuratorKey);
        var features = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
            (await platform.DataAsync("query($i: Int!) { feature(sae: \"" + Sae + "\", index: $i) { index stats { maxActivation documentCount corpusSize idf } topExamples(first: 3) { sequenceId } } }", new { i }))["feature"]!));
        return (features, features.ToDictionary(f => f["index"]!.GetValue<int>(), f => f["topExamples"]!.AsArray().Select(e => e!["sequenceId"]!.GetValue<string>()).ToArray()));
    }

    [Fact]
    public async Task JsonLines_and_csv_exports_hold_every_feature_with_its_statistics_and_description()
    {
        var (features, topIds) = await IndexAndReadAsync();
        var client = platform.CreateClient();

        var response = await client.GetAsync(SaePath + "/features.jsonl?topExamples=3");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/x-ndjson", response.Content.Headers.ContentType!.ToString());
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(64, lines.Length);
        for (var i = 0; i < 64; i++)
        {
            var row = JsonNode.Parse(lines[i])!;
            var stats = features[i]["stats"]!;
            Assert.Equal(Sae, row["sae"]!.GetValue<string>());
            Assert.Equal(i, row["index"]!.GetValue<int>());
            Assert.Equal(stats["documentCount"]!.GetValue<int>(), row["documentCount"]!.GetValue<int>());
            Assert.Equal(stats["corpusSize"]!.GetValue<int>(), row["corpusSize"]!.GetValue<int>());
            Assert.Equal(stats["maxActivation"]?.GetValue<double>(), row["maxActivation"]?.GetValue<double>());
            Assert.Equal(topIds[i], row["topExampleIds"]!.AsArray().Select(x => x!.GetValue<string>()));
        }
        var described = JsonNode.Parse(lines[4])!;
        Assert.Equal("exported, \"quoted\"", described["label"]!.GetValue<string>());
        Assert.Equal("line one\nline two", described["description"]!.GetValue<string>());
        Assert.Equal("PROPOSED", described["status"]!.GetValue<string>());
        Assert.Equal("HUMAN", described["source"]!.GetValue<string>());
        // The export activated only the feature grains its page marks as described; feature 4 is marked, 5 is not.
        var page = await platform.Services.GetRequiredService<IGrainFactory>()
            .GetGrain<IFeaturePageGrain>(FeaturePages.Key(Sae, FeaturePages.PageOf(4))).GetPageAsync([4, 5], 0);
        Assert.Equal([4], page.Described);
        // The page holds feature 4's headline (what batch readers use instead of activating its grain), none for 5;
        // and its numbers are the statistics grain's, the one stored copy.
        Assert.Equal("exported, \"quoted\"", page.Headlines[0]?.Current?.Label);
        Assert.Null(page.Headlines[1]);
        Assert.Equal(features[4]["stats"]!["documentCount"]!.GetValue<int>(), page.Statistics[0].DocumentCount);

        var csv = await client.GetAsync(SaePath.Replace("/layer2", "%2Flayer2") + "/features.csv?topExamples=3");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.StartsWith("text/csv", csv.Content.Headers.ContentType!.ToString());
        Assert.Contains("attachment", csv.Content.Headers.ContentDisposition!.ToString());
        var text = await csv.Content.ReadAsStringAsync();
        Assert.StartsWith("sae,index,label,description,status,source,score,maxActivation,documentCount,corpusSize,idf,topExampleIds\r\n", text);
        Assert.Contains("\"exported, \"\"quoted\"\"\",\"line one\nline two\",PROPOSED,HUMAN", text);
        // Header + 64 rows; the only embedded line break is inside the quoted description.
        Assert.Equal(1 + 64, text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Feature_routes_page_and_show_one_feature_like_the_biohub_alpha_api()
    {
        var (features, topIds) = await IndexAndReadAsync();
        var client = platform.CreateClient();

        var first = JsonNode.Parse(await client.GetStringAsync(SaePath + "/features?offset=0&limit=2&topExamples=3"))!;
        Assert.Equal(64, first["total"]!.GetValue<int>());
        Assert.Equal(new[] { 0, 1 }, first["features"]!.AsArray().Select(f => f!["index"]!.GetValue<int>()));
        var next = first["next"]!.GetValue<string>();
        Assert.Contains("offset=2", next);
        var tail = JsonNode.Parse(await client.GetStringAsync(SaePath + "/features?offset=60&limit=10"))!;
        Assert.Equal(new[] { 60, 61, 62, 63 }, tail["features"]!.AsArray().Select(f => f!["index"]!.GetValue<int>()));
        Assert.Null(tail["next"]);

        var active = features.First(f => f["stats"]!["documentCount"]!.GetValue<int>() > 0)["index"]!.GetValue<int>();
        var one = JsonNode.Parse(await client.GetStringAsync($"{SaePath}/features/{active}?topExamples=3"))!;
        Assert.Equal(active, one["index"]!.GetValue<int>());
        Assert.Equal(features[active]["stats"]!["documentCount"]!.GetValue<int>(), one["statistics"]!["documentCount"]!.GetValue<int>());
        Assert.Equal(features[active]["stats"]!["maxActivation"]!.GetValue<double>(), one["statistics"]!["maxActivation"]!.GetValue<double>());
        Assert.Equal(topIds[active], one["topExampleIds"]!.AsArray().Select(x => x!.GetValue<string>()));
        var described = JsonNode.Parse(await client.GetStringAsync(SaePath + "/features/4"))!;
        Assert.Equal("exported, \"quoted\"", described["label"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(SaePath + "/features/64")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/saes/no/such/features.jsonl")).StatusCode);
        var bad = await client.GetAsync(SaePath + "/features?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("limit", await bad.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync(SaePath + "/features/abc")).StatusCode);
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, SaePath + "/features.jsonl");
        wrongKey.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(wrongKey)).StatusCode);
        using var reader = new HttpRequestMessage(HttpMethod.Get, SaePath + "/features/4");
        reader.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PlatformFactory.ReaderKey);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(reader)).StatusCode);
    }

    [Fact]
    public async Task Clients_over_their_rate_limit_get_429_with_Retry_After_per_key_and_per_anonymous_client()
    {
        using var limited = platform.WithWebHostBuilder(b => b
            .UseSetting("Esmc:RateLimit:AnonymousPermitsPerMinute", "2")
            .UseSetting("Esmc:RateLimit:PermitsPerMinute", "3"));
        var client = limited.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/saes")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/saes")).StatusCode);
        var refused = await client.GetAsync("/api/v1/saes");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, refused.Headers.ToString());
        Assert.Equal("OVERLOADED", PlatformFactory.ErrorCode(JsonNode.Parse(await refused.Content.ReadAsStringAsync())!.AsObject()));
        // GraphQL shares the anonymous client's bucket.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsync("/graphql", new StringContent("{\"query\":\"{ saes { id } }\"}", System.Text.Encoding.UTF8, "application/json"))).StatusCode);

        // A key has its own bucket; the health check is never limited.
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/saes");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PlatformFactory.ReaderKey);
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        }
        using var fourth = new HttpRequestMessage(HttpMethod.Get, "/api/v1/saes");
        fourth.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PlatformFactory.ReaderKey);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.SendAsync(fourth)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }
}
