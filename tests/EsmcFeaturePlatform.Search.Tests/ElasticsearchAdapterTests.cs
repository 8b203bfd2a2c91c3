using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Search.Elasticsearch;
using Xunit;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>
/// The Elasticsearch adapter at the request level: the real client library talks HTTP to a loopback fake, and
/// the tests check the requests it sends and how it treats the replies.
/// </summary>
public sealed class ElasticsearchAdapterTests : IDisposable
{
    private const string Alias = "esmc-features";
    private const string Sae = "ESMC-300M-sae-layer23-k64-codebook65536/layer23";
    private readonly FakeElasticsearch server = new();

    public void Dispose() => server.Dispose();

    private ElasticsearchFeatureIndex Connect(string? apiKey = null) =>
        ElasticsearchFeatureIndex.Create(new ElasticsearchSearchOptions { Url = server.Url, ApiKey = apiKey, RebuildBatchSize = 2 });

    private static FeatureDocument Doc(int index, string label = "Zinc finger") =>
        new(Sae, index, label, "Binds zinc.", DescriptionStatus.Approved, DescriptionSource.Human, 0.9, 4.5f, 10, 100,
            Math.Log(10.0), ["zinc ion binding"], new DateTimeOffset(2025, 3, 4, 5, 6, 7, 890, TimeSpan.Zero));

    /// <summary>An existing alias, accepted bulk requests, and the given search reply.</summary>
    private Func<ReceivedRequest, FakeReply> Cluster(string? searchReply = null, bool aliasExists = true) => r => (r.Method, r.Path) switch
    {
        ("HEAD", Alias) => new FakeReply(aliasExists ? 200 : 404),
        ("PUT", _) => FakeReply.Json($"{{\"acknowledged\":true,\"index\":\"{r.Path}\"}}"),
        ("POST", var p) when p.EndsWith("/_bulk", StringComparison.Ordinal) => FakeReply.Json("{\"took\":1,\"errors\":false,\"items\":[]}"),
        ("POST", var p) when p.EndsWith("/_search", StringComparison.Ordinal) => FakeReply.Json(searchReply ?? EmptySearchReply),
        ("POST", var p) when p.EndsWith("/_count", StringComparison.Ordinal) => FakeReply.Json("{\"count\":42}"),
        ("POST", var p) when p.EndsWith("/_refresh", StringComparison.Ordinal) => FakeReply.Json("{}"),
        ("POST", var p) when p.EndsWith("/_delete_by_query", StringComparison.Ordinal) => FakeReply.Json("{\"deleted\":3}"),
        ("GET", "_alias/" + Alias) => FakeReply.Json("{\"esmc-features-old\":{\"aliases\":{\"esmc-features\":{}}}}"),
        ("POST", "_aliases") => FakeReply.Json("{\"acknowledged\":true}"),
        ("DELETE", _) => FakeReply.Json("{\"acknowledged\":true}"),
        _ => new FakeReply(404, "{\"error\":{\"type\":\"unexpected\",\"reason\":\"not faked\"}}"),
    };

    private const string EmptySearchReply = "{\"hits\":{\"total\":{\"value\":0,\"relation\":\"eq\"},\"hits\":[]}}";

    [Fact]
    public async Task A_missing_index_is_created_from_the_committed_mapping_behind_the_alias()
    {
        server.Handler = Cluster(aliasExists: false);
        var index = Connect();

        await index.CountAsync();

        var create = Assert.Single(server.Received, r => r.Method == "PUT");
        Assert.StartsWith(Alias + "-", create.Path, StringComparison.Ordinal);
        var sent = JsonNode.Parse(create.Body)!.AsObject();
        Assert.True(JsonNode.DeepEquals(new JsonObject { [Alias] = new JsonObject() }, sent["aliases"]));
        sent.Remove("aliases");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FeatureIndexMapping.LoadCommitted()), sent), create.Body);
        Assert.True(create.WasGzipped, "request bodies should be gzip-compressed by the client");

        await index.CountAsync();
        Assert.Single(server.Received, r => r.Method == "HEAD"); // existence is checked once, not per call
    }

    [Fact]
    public async Task An_existing_index_is_not_recreated_and_the_api_key_is_sent()
    {
        server.Handler = Cluster();
        var index = Connect(apiKey: "c2VjcmV0OmtleQ==");

        Assert.Equal(42, await index.CountAsync(Sae));

        Assert.DoesNotContain(server.Received, r => r.Method == "PUT");
        Assert.All(server.Received, r => Assert.Equal("ApiKey c2VjcmV0OmtleQ==", r.Headers["Authorization"]));
        var count = Assert.Single(server.Received, r => r.Path == Alias + "/_count");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($"{{\"query\":{{\"term\":{{\"sae\":\"{Sae}\"}}}}}}"), JsonNode.Parse(count.Body)));
    }

    [Fact]
    public async Task Upserts_send_one_bulk_request_that_waits_for_visibility()
    {
        server.Handler = Cluster();
        var docs = new[] { Doc(1), Doc(2) with { Label = null, Score = null, AnnotationTerms = [] } };

        await Connect().UpsertAsync(docs);

        var bulk = Assert.Single(server.Received, r => r.Path == Alias + "/_bulk");
        Assert.Equal("refresh=wait_for", bulk.Query);
        Assert.Contains("x-ndjson", bulk.Headers["Content-Type"], StringComparison.Ordinal);
        var lines = bulk.Body.Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Equal("", lines[4]);
        Assert.Equal($"{Sae}#1", JsonNode.Parse(lines[0])!["index"]!["_id"]!.GetValue<string>());
        var first = JsonNode.Parse(lines[1])!.AsObject();
        var mappedFields = JsonNode.Parse(FeatureIndexMapping.LoadCommitted())!["mappings"]!["properties"]!.AsObject().Select(p => p.Key).ToHashSet();
        Assert.All(first.Select(p => p.Key), f => Assert.Contains(f, mappedFields));
        Assert.Equal(mappedFields.Order(), first.Select(p => p.Key).Order()); // a full document carries every mapped field
        Assert.Equal("APPROVED", first["status"]!.GetValue<string>());
        Assert.Equal("2025-03-04T05:06:07.890Z", first["updated_at"]!.GetValue<string>());
        var second = JsonNode.Parse(lines[3])!.AsObject();
        Assert.False(second.ContainsKey("label"));
        Assert.False(second.ContainsKey("score"));
    }

    [Fact]
    public async Task Documents_the_server_refuses_are_reported_with_the_reason()
    {
        server.Handler = r => r.Path.EndsWith("/_bulk", StringComparison.Ordinal)
            ? FakeReply.Json("""{"errors":true,"items":[{"index":{"_id":"x#1","status":201}},{"index":{"_id":"x#2","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [score]"}}}]}""")
            : Cluster()(r);

        var error = await Assert.ThrowsAsync<ElasticsearchFeatureIndexException>(() => Connect().UpsertAsync([Doc(1), Doc(2)]));

        Assert.Contains("x#2", error.Message, StringComparison.Ordinal);
        Assert.Contains("failed to parse field [score]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_sends_the_query_filters_sort_cursor_and_highlight_request()
    {
        server.Handler = Cluster();
        var after = new FeatureSearchCursor(1.5, Sae, 7).Encode();

        await Connect().SearchAsync(new FeatureSearchQuery("\"zinc finger\" kin*", SaeId: Sae,
            Statuses: [DescriptionStatus.Approved], Sources: [DescriptionSource.Human, DescriptionSource.Agent],
            MinScore: 0.5, MinDocumentCount: 3, MaxDocumentCount: 9, First: 10, After: after));

        var search = Assert.Single(server.Received, r => r.Path == Alias + "/_search");
        var expected = JsonNode.Parse($$"""
        {
          "size": 11, "track_total_hits": true, "_source": false,
          "query": { "bool": {
            "must": { "query_string": { "query": "\"zinc finger\" kin*", "fields": ["label^3", "text^2", "annotation_terms^1"],
                                        "default_operator": "AND", "allow_leading_wildcard": false,
                                        "analyze_wildcard": true } },
            "filter": [
              { "term": { "sae": "{{Sae}}" } },
              { "terms": { "status": ["APPROVED"] } },
              { "terms": { "source": ["HUMAN", "AGENT"] } },
              { "range": { "score": { "gte": 0.5 } } },
              { "range": { "document_count": { "gte": 3, "lte": 9 } } } ] } },
          "sort": [ { "_score": "desc" }, { "sae": "asc" }, { "index": "asc" } ],
          "highlight": { "encoder": "html", "pre_tags": ["<em>"], "post_tags": ["</em>"], "fragment_size": 150,
                         "number_of_fragments": 2, "require_field_match": true,
                         "fields": { "label": {}, "text": {}, "annotation_terms": {} } },
          "search_after": [1.5, "{{Sae}}", 7]
        }
        """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(search.Body)), search.Body);
    }

    [Fact]
    public async Task Search_replies_become_hits_with_cursors_highlights_and_paging()
    {
        server.Handler = Cluster($$$"""
        {"hits":{"total":{"value":57,"relation":"eq"},"hits":[
          {"_id":"{{{Sae}}}#3","_score":2.25,"sort":[2.25,"{{{Sae}}}",3],"highlight":{"label":["<em>Zinc</em> finger"]}},
          {"_id":"{{{Sae}}}#9","_score":1.0,"sort":[1.0,"{{{Sae}}}",9]},
          {"_id":"{{{Sae}}}#11","_score":0.5,"sort":[0.5,"{{{Sae}}}",11]}]}}
        """);

        var result = await Connect().SearchAsync(new FeatureSearchQuery("zinc", First: 2));

        Assert.Equal(57, result.TotalCount);
        Assert.True(result.HasNextPage);
        Assert.Equal([(Sae, 3), (Sae, 9)], result.Hits.Select(h => (h.SaeId, h.Index)));
        Assert.Equal(2.25, result.Hits[0].Score);
        Assert.Equal(["<em>Zinc</em> finger"], result.Hits[0].Highlights["label"]);
        Assert.Empty(result.Hits[1].Highlights);
        Assert.Equal(new FeatureSearchCursor(1.0, Sae, 9), FeatureSearchCursor.Decode(result.EndCursor!));
    }

    [Fact]
    public async Task An_empty_query_matches_everything()
    {
        server.Handler = Cluster();

        await Connect().SearchAsync(new FeatureSearchQuery("  "));

        var body = JsonNode.Parse(Assert.Single(server.Received, r => r.Path == Alias + "/_search").Body)!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["match_all"] = new JsonObject() }, body["query"]!["bool"]!["must"]));
    }

    [Fact]
    public async Task A_query_elasticsearch_cannot_parse_is_a_SearchSyntaxException()
    {
        server.Handler = r => r.Path.EndsWith("/_search", StringComparison.Ordinal)
            ? FakeReply.Json("""{"error":{"root_cause":[{"type":"query_shard_exception","reason":"Failed to parse query [label:(zinc]"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":400}""", 400)
            : Cluster()(r);

        var error = await Assert.ThrowsAsync<SearchSyntaxException>(() => Connect().SearchAsync(new FeatureSearchQuery("label:(zinc")));

        Assert.Contains("label:(zinc", error.Message, StringComparison.Ordinal);
        Assert.Contains("Failed to parse query", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_arguments_fail_before_any_request()
    {
        server.Handler = Cluster();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => Connect().SearchAsync(new FeatureSearchQuery("x", After: "garbage")));

        Assert.Empty(server.Received);
    }

    [Fact]
    public async Task A_server_that_is_not_elasticsearch_is_named_as_such()
    {
        server.Handler = r => Cluster()(r) with { ProductHeader = false };

        var error = await Assert.ThrowsAsync<ElasticsearchFeatureIndexException>(() => Connect().CountAsync());

        Assert.Contains("X-Elastic-Product", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.Url, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_errors_carry_the_status_and_reason()
    {
        server.Handler = r => r.Method == "HEAD"
            ? new FakeReply(200)
            : FakeReply.Json("""{"error":{"root_cause":[{"type":"cluster_block_exception","reason":"index [esmc-features] blocked by: [FORBIDDEN/8/index write (api)]"}],"type":"cluster_block_exception","reason":"blocked"},"status":403}""", 403);

        var error = await Assert.ThrowsAsync<ElasticsearchFeatureIndexException>(() => Connect().UpsertAsync([Doc(1)]));

        Assert.Equal(403, error.StatusCode);
        Assert.Contains("FORBIDDEN/8/index write", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_reported_with_its_url()
    {
        var url = server.Url;
        server.Dispose();
        var index = ElasticsearchFeatureIndex.Create(new ElasticsearchSearchOptions { Url = url, RequestTimeout = TimeSpan.FromSeconds(5) });

        var error = await Assert.ThrowsAsync<ElasticsearchFeatureIndexException>(() => index.CountAsync());

        Assert.Contains(url, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rebuild_fills_a_new_index_then_swaps_the_alias_atomically_and_drops_the_old_one()
    {
        server.Handler = Cluster();

        await Connect().RebuildAsync(new[] { Doc(1), Doc(2), Doc(3) }.ToAsyncEnumerable());

        var requests = server.Received.Where(r => r.Method != "HEAD").ToList();
        var created = requests[0];
        Assert.Equal("PUT", created.Method);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(FeatureIndexMapping.LoadCommitted()), JsonNode.Parse(created.Body)));
        var newIndex = created.Path;
        Assert.Equal(
            [("POST", newIndex + "/_bulk"), ("POST", newIndex + "/_bulk"), ("POST", newIndex + "/_refresh"),
             ("GET", "_alias/" + Alias), ("POST", "_aliases"), ("DELETE", "esmc-features-old")],
            requests.Skip(1).Select(r => (r.Method, r.Path)));
        Assert.Equal([2, 1], requests.Where(r => r.Path.EndsWith("/_bulk", StringComparison.Ordinal)).Select(r => r.Body.Split('\n').Length / 2));
        var swap = JsonNode.Parse(requests.Single(r => r.Path == "_aliases").Body);
        var expectedSwap = JsonNode.Parse($$$"""
            {"actions":[{"remove":{"index":"esmc-features-old","alias":"{{{Alias}}}"}},{"add":{"index":"{{{newIndex}}}","alias":"{{{Alias}}}"}}]}
            """);
        Assert.True(JsonNode.DeepEquals(expectedSwap, swap));
    }

    [Fact]
    public async Task A_failed_rebuild_deletes_its_new_index_and_never_touches_the_alias()
    {
        server.Handler = Cluster();

        static async IAsyncEnumerable<FeatureDocument> Failing()
        {
            yield return Doc(1);
            await Task.Yield();
            throw new InvalidOperationException("grain state read failed");
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => Connect().RebuildAsync(Failing()));

        var created = Assert.Single(server.Received, r => r.Method == "PUT").Path;
        Assert.Contains(server.Received, r => r.Method == "DELETE" && r.Path == created);
        Assert.DoesNotContain(server.Received, r => r.Path == "_aliases");
    }

    [Fact]
    public void Bad_options_are_rejected_naming_the_setting()
    {
        var badUrl = Assert.Throws<InvalidOperationException>(() => ElasticsearchFeatureIndex.Create(new ElasticsearchSearchOptions { Url = "not a url" }));
        var badName = Assert.Throws<InvalidOperationException>(() => ElasticsearchFeatureIndex.Create(new ElasticsearchSearchOptions { Url = server.Url, IndexName = "Upper/Case" }));

        Assert.Contains("Esmc:Search:Elasticsearch:Url", badUrl.Message, StringComparison.Ordinal);
        Assert.Contains("Upper/Case", badName.Message, StringComparison.Ordinal);
    }
}

[RequiresEnvironment("ESMC_TEST_ELASTICSEARCH_URL")]
public sealed class ElasticsearchFeatureIndexContractTests : FeatureIndexContract
{
    protected override Task<IFeatureIndex> CreateIndexAsync() =>
        Task.FromResult<IFeatureIndex>(ElasticsearchFeatureIndex.Create(new ElasticsearchSearchOptions
        {
            Url = Environment.GetEnvironmentVariable("ESMC_TEST_ELASTICSEARCH_URL"),
            ApiKey = Environment.GetEnvironmentVariable("ESMC_TEST_ELASTICSEARCH_API_KEY"),
            IndexName = "esmc-test-" + Guid.NewGuid().ToString("N")[..12],
        }));

    protected override Task DestroyIndexAsync(IFeatureIndex created) => ((ElasticsearchFeatureIndex)created).DeleteIndexAsync();
}
