using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using Elastic.Transport;
using EsmcFeaturePlatform.Abstractions;
using Schema = EsmcFeaturePlatform.Abstractions.FeatureIndexSchema;
using TransportMethod = Elastic.Transport.HttpMethod;

namespace EsmcFeaturePlatform.Search.Elasticsearch;

/// <summary>
/// <see cref="IFeatureIndex"/> over Elasticsearch, with the same semantics as the Lucene index: the Lucene
/// classic query syntax (<c>query_string</c>), the same fields and boosts, filters as non-scoring <c>bool.filter</c>,
/// the same sort (relevance, SAE, index) with <c>search_after</c> cursors, HTML-encoded highlights.
/// </summary>
/// <remarks>
/// Requests are JSON built here and sent through the client's transport, so the bodies are exactly what the
/// request-level tests check and mirror the committed mapping field for field; the client still provides the
/// node pool, authentication, compression and the product check. Reads and writes go through the alias
/// <see cref="ElasticsearchSearchOptions.IndexName"/>; a rebuild fills a new concrete index and swaps the alias
/// in one <c>_aliases</c> call. Writes made by this process during a rebuild are replayed onto the new index
/// before the swap (writes from other processes during a rebuild are not: run rebuilds from one place).
/// </remarks>
public sealed class ElasticsearchFeatureIndex : IFeatureIndex
{
    private const string NdjsonContentType = "application/vnd.elasticsearch+x-ndjson; compatible-with=9";

    private readonly ElasticsearchClient client;
    private readonly ElasticsearchSearchOptions options;
    private readonly string alias;
    private readonly SemaphoreSlim ensureGate = new(1, 1);
    private readonly SemaphoreSlim rebuildGate = new(1, 1);
    private readonly object rebuildLogGate = new();
    private List<Func<string, CancellationToken, Task>>? writesDuringRebuild;
    private volatile bool indexKnownToExist;

    public ElasticsearchFeatureIndex(ElasticsearchClient client, ElasticsearchSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        this.client = client;
        this.options = options;
        alias = options.IndexName;
    }

    /// <summary>Builds the client from the options: URL, API key, timeout; request bodies are gzip-compressed.</summary>
    public static ElasticsearchFeatureIndex Create(ElasticsearchSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = new ElasticsearchClientSettings(options.Validate()).RequestTimeout(options.RequestTimeout);
        if (!string.IsNullOrEmpty(options.ApiKey)) settings = settings.Authentication(new ApiKey(options.ApiKey));
        return new ElasticsearchFeatureIndex(new ElasticsearchClient(settings), options);
    }

    /// <summary>Creates the index (from the committed mapping) behind the alias when the alias does not exist yet.</summary>
    public async Task EnsureIndexAsync(CancellationToken ct = default)
    {
        if (indexKnownToExist) return;
        await ensureGate.WaitAsync(ct);
        try
        {
            if (indexKnownToExist) return;
            // The typed call (not the raw transport) so the client's product check vets the server on first contact.
            var head = await TypedAsync(() => client.Indices.ExistsAsync(alias, ct));
            if (head.Status == 404)
            {
                var body = JsonNode.Parse(FeatureIndexMapping.LoadCommitted())!.AsObject();
                body["aliases"] = new JsonObject { [alias] = new JsonObject() };
                var created = await SendAsync(TransportMethod.PUT, Escape(NewConcreteIndexName()), body.ToJsonString(), ct);
                // Another process creating it at the same moment is fine: the alias now exists either way.
                if (!created.Success && !created.Body.Contains("resource_already_exists_exception", StringComparison.Ordinal))
                    throw Failure("create the search index", created);
            }
            else if (!head.Success)
            {
                throw Failure("check the search index", head);
            }
            indexKnownToExist = true;
        }
        finally
        {
            ensureGate.Release();
        }
    }

    public async Task UpsertAsync(IReadOnlyCollection<FeatureDocument> documents, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (documents.Count == 0) return;
        foreach (var d in documents) Schema.ValidateDocument(d);
        var bulk = BulkBody(documents);
        await EnsureIndexAsync(ct);
        await BulkAsync(Escape(alias), bulk, refresh: "wait_for", ct);
        Record((target, token) => BulkAsync(Escape(target), bulk, refresh: null, token));
    }

    public async Task DeleteSaeAsync(string saeId, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(saeId)) throw new ArgumentException("saeId must not be empty.", nameof(saeId));
        await EnsureIndexAsync(ct);
        var body = new JsonObject { ["query"] = Term(Schema.Sae, saeId) }.ToJsonString();
        await DeleteByQueryAsync(Escape(alias), body, ct);
        Record((target, token) => DeleteByQueryAsync(Escape(target), body, token));
    }

    public async Task<long> CountAsync(string? saeId = null, CancellationToken ct = default)
    {
        await EnsureIndexAsync(ct);
        var body = saeId is null ? null : new JsonObject { ["query"] = Term(Schema.Sae, saeId) }.ToJsonString();
        var response = await SendAsync(TransportMethod.POST, $"{Escape(alias)}/_count", body, ct);
        if (!response.Success) throw Failure("count features", response);
        return response.Json()["count"]!.GetValue<long>();
    }

    public async Task<FeatureSearchResult> SearchAsync(FeatureSearchQuery query, CancellationToken ct = default)
    {
        var pageSize = Schema.ValidateAndGetPageSize(query);
        await EnsureIndexAsync(ct);
        var response = await SendAsync(TransportMethod.POST, $"{Escape(alias)}/_search", BuildSearchBody(query, pageSize).ToJsonString(), ct);
        if (response.Status == 400)
        {
            var reason = response.ErrorReason();
            if (response.ErrorTypes().Any(t => t is "query_shard_exception" or "parse_exception" or "query_string_parse_exception"
                    or "search_phase_execution_exception" or "x_content_parse_exception"))
                throw new SearchSyntaxException($"Cannot parse the search query '{query.Query}': {reason}");
        }
        if (!response.Success) throw Failure("search features", response);

        var hitsNode = response.Json()["hits"]!;
        var total = hitsNode["total"]?["value"]?.GetValue<int>() ?? 0;
        var hits = new List<FeatureSearchHit>();
        var raw = hitsNode["hits"]!.AsArray();
        foreach (var hit in raw.Take(pageSize))
        {
            var sort = hit!["sort"]!.AsArray();
            var score = sort[0]!.GetValue<double>();
            var sae = sort[1]!.GetValue<string>();
            var index = sort[2]!.GetValue<int>();
            var highlights = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (hit["highlight"] is JsonObject highlight)
            {
                foreach (var (field, fragments) in highlight)
                    highlights[field] = [.. fragments!.AsArray().Select(f => f!.GetValue<string>())];
            }
            hits.Add(new FeatureSearchHit(sae, index, score, new FeatureSearchCursor(score, sae, index).Encode(), highlights));
        }
        return new FeatureSearchResult(total, hits, raw.Count > pageSize, hits.Count > 0 ? hits[^1].Cursor : null);
    }

    public async Task RebuildAsync(IAsyncEnumerable<FeatureDocument> all, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(all);
        await rebuildGate.WaitAsync(ct);
        string? next = null;
        try
        {
            await EnsureIndexAsync(ct);
            next = NewConcreteIndexName();
            var created = await SendAsync(TransportMethod.PUT, Escape(next), FeatureIndexMapping.LoadCommitted(), ct);
            if (!created.Success) throw Failure($"create index {next} for the rebuild", created);
            lock (rebuildLogGate) writesDuringRebuild = [];

            var batch = new List<FeatureDocument>(options.RebuildBatchSize);
            await foreach (var feature in all.WithCancellation(ct))
            {
                Schema.ValidateDocument(feature);
                batch.Add(feature);
                if (batch.Count == options.RebuildBatchSize)
                {
                    await BulkAsync(Escape(next), BulkBody(batch), refresh: null, ct);
                    batch.Clear();
                }
            }
            if (batch.Count > 0) await BulkAsync(Escape(next), BulkBody(batch), refresh: null, ct);

            List<Func<string, CancellationToken, Task>> replay;
            lock (rebuildLogGate)
            {
                replay = writesDuringRebuild!;
                writesDuringRebuild = null;
            }
            foreach (var write in replay) await write(next, ct);
            var refreshed = await SendAsync(TransportMethod.POST, $"{Escape(next)}/_refresh", null, ct);
            if (!refreshed.Success) throw Failure($"refresh index {next}", refreshed);

            var previous = await ConcreteIndicesBehindAliasAsync(ct);
            var actions = new JsonArray();
            foreach (var old in previous) actions.Add(new JsonObject { ["remove"] = new JsonObject { ["index"] = old, ["alias"] = alias } });
            actions.Add(new JsonObject { ["add"] = new JsonObject { ["index"] = next, ["alias"] = alias } });
            var swapped = await SendAsync(TransportMethod.POST, "_aliases", new JsonObject { ["actions"] = actions }.ToJsonString(), ct);
            if (!swapped.Success) throw Failure($"point alias {alias} at {next}", swapped);
            next = null;
            foreach (var old in previous) await SendAsync(TransportMethod.DELETE, Escape(old), null, CancellationToken.None);
        }
        finally
        {
            lock (rebuildLogGate) writesDuringRebuild = null;
            if (next is not null) await SendAsync(TransportMethod.DELETE, Escape(next), null, CancellationToken.None);
            rebuildGate.Release();
        }
    }

    /// <summary>Deletes the alias and every index behind it (tests and decommissioning; the next use recreates it).</summary>
    public async Task DeleteIndexAsync(CancellationToken ct = default)
    {
        foreach (var index in await ConcreteIndicesBehindAliasAsync(ct))
        {
            var deleted = await SendAsync(TransportMethod.DELETE, Escape(index), null, ct);
            if (!deleted.Success && deleted.Status != 404) throw Failure($"delete index {index}", deleted);
        }
        indexKnownToExist = false;
    }

    /// <summary>The <c>_search</c> body for a query (public so tests and operators can see exactly what is sent).</summary>
    public static JsonObject BuildSearchBody(FeatureSearchQuery query, int pageSize)
    {
        var text = query.Query.Trim();
        JsonNode main = text.Length == 0 || text == "*" || text == "*:*"
            ? new JsonObject { ["match_all"] = new JsonObject() }
            : new JsonObject
            {
                ["query_string"] = new JsonObject
                {
                    ["query"] = text,
                    ["fields"] = new JsonArray([.. Schema.SearchedFields.Select(f => JsonValue.Create(
                        $"{f.Field}^{f.Boost.ToString(CultureInfo.InvariantCulture)}"))]),
                    ["default_operator"] = "AND",
                    ["allow_leading_wildcard"] = false,
                    // Prefixes are stemmed like indexed words ("kinase*" finds "kinases"), as the Lucene parser does.
                    ["analyze_wildcard"] = true,
                },
            };

        var filters = new JsonArray();
        if (query.SaeId is { } sae) filters.Add(Term(Schema.Sae, sae));
        if (query.Statuses is { Count: > 0 } statuses)
            filters.Add(Terms(Schema.Status, statuses.Select(Schema.ToIndexValue)));
        if (query.Sources is { Count: > 0 } sources)
            filters.Add(Terms(Schema.Source, sources.Select(Schema.ToIndexValue)));
        if (query.MinScore is { } minScore)
            filters.Add(new JsonObject { ["range"] = new JsonObject { [Schema.Score] = new JsonObject { ["gte"] = minScore } } });
        if (query.MinDocumentCount is not null || query.MaxDocumentCount is not null)
        {
            var range = new JsonObject();
            if (query.MinDocumentCount is { } lo) range["gte"] = lo;
            if (query.MaxDocumentCount is { } hi) range["lte"] = hi;
            filters.Add(new JsonObject { ["range"] = new JsonObject { [Schema.DocumentCount] = range } });
        }

        var highlightFields = new JsonObject();
        foreach (var (field, _) in Schema.SearchedFields) highlightFields[field] = new JsonObject();
        var body = new JsonObject
        {
            ["size"] = pageSize + 1, // one more than asked tells whether a next page exists
            ["track_total_hits"] = true,
            ["_source"] = false,
            ["query"] = new JsonObject { ["bool"] = new JsonObject { ["must"] = main, ["filter"] = filters } },
            ["sort"] = new JsonArray(
                new JsonObject { ["_score"] = "desc" },
                new JsonObject { [Schema.Sae] = "asc" },
                new JsonObject { [Schema.Index] = "asc" }),
            ["highlight"] = new JsonObject
            {
                ["encoder"] = "html",
                ["pre_tags"] = new JsonArray("<em>"),
                ["post_tags"] = new JsonArray("</em>"),
                ["fragment_size"] = 150,
                ["number_of_fragments"] = 2,
                ["require_field_match"] = true,
                ["fields"] = highlightFields,
            },
        };
        if (query.After is { } after)
        {
            var cursor = FeatureSearchCursor.Decode(after);
            body["search_after"] = new JsonArray(cursor.Score, cursor.SaeId, cursor.Index);
        }
        return body;
    }

    /// <summary>The JSON source of one document, with the schema's field names.</summary>
    public static JsonObject ToSource(FeatureDocument d)
    {
        var source = new JsonObject
        {
            [Schema.Id] = d.Id,
            [Schema.Sae] = d.SaeId,
            [Schema.Index] = d.Index,
            [Schema.DocumentCount] = d.DocumentCount,
            [Schema.CorpusSize] = d.CorpusSize,
            [Schema.AnnotationTerms] = new JsonArray([.. d.AnnotationTerms.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => JsonValue.Create(t))]),
            [Schema.UpdatedAt] = d.UpdatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        };
        if (d.Label is { } label) source[Schema.Label] = label;
        if (d.Text is { } text) source[Schema.Text] = text;
        if (d.Status is { } status) source[Schema.Status] = Schema.ToIndexValue(status);
        if (d.Source is { } src) source[Schema.Source] = Schema.ToIndexValue(src);
        if (d.Score is { } score && double.IsFinite(score)) source[Schema.Score] = score;
        if (d.MaxActivation is { } max && float.IsFinite(max)) source[Schema.MaxActivation] = max;
        if (d.Idf is { } idf && double.IsFinite(idf)) source[Schema.Idf] = idf;
        return source;
    }

    private static string BulkBody(IEnumerable<FeatureDocument> documents)
    {
        var body = new StringBuilder();
        foreach (var d in documents)
        {
            body.Append(new JsonObject { ["index"] = new JsonObject { ["_id"] = d.Id } }.ToJsonString()).Append('\n');
            body.Append(ToSource(d).ToJsonString()).Append('\n');
        }
        return body.ToString();
    }

    private async Task BulkAsync(string target, string ndjson, string? refresh, CancellationToken ct)
    {
        var path = refresh is null ? $"{target}/_bulk" : $"{target}/_bulk?refresh={refresh}";
        var response = await SendAsync(TransportMethod.POST, path, ndjson, ct, NdjsonContentType);
        if (!response.Success) throw Failure("index features", response);
        var json = response.Json();
        if (json["errors"]?.GetValue<bool>() == true)
        {
            var failed = json["items"]!.AsArray()
                .Select(i => i!.AsObject().First().Value)
                .Where(i => i?["error"] is not null)
                .Select(i => $"{i!["_id"]}: {i["error"]!["type"]}: {i["error"]!["reason"]}")
                .ToList();
            throw new ElasticsearchFeatureIndexException(
                $"Elasticsearch refused {failed.Count} document(s); first: {failed.FirstOrDefault()}", response.Status);
        }
    }

    private async Task DeleteByQueryAsync(string target, string body, CancellationToken ct)
    {
        var response = await SendAsync(TransportMethod.POST, $"{target}/_delete_by_query?refresh=true&conflicts=proceed", body, ct);
        if (!response.Success) throw Failure("delete features", response);
    }

    private async Task<List<string>> ConcreteIndicesBehindAliasAsync(CancellationToken ct)
    {
        var response = await SendAsync(TransportMethod.GET, $"_alias/{Escape(alias)}", null, ct);
        if (response.Status == 404) return [];
        if (!response.Success) throw Failure($"read alias {alias}", response);
        return [.. response.Json().AsObject().Select(p => p.Key)];
    }

    private void Record(Func<string, CancellationToken, Task> write)
    {
        lock (rebuildLogGate) writesDuringRebuild?.Add(write);
    }

    private string NewConcreteIndexName() =>
        $"{alias}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmssfff", CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..6]}";

    private static JsonObject Term(string field, string value) =>
        new() { ["term"] = new JsonObject { [field] = value } };

    private static JsonObject Terms(string field, IEnumerable<string> values) =>
        new() { ["terms"] = new JsonObject { [field] = new JsonArray([.. values.Distinct().Select(v => JsonValue.Create(v))]) } };

    private static string Escape(string pathSegment) => Uri.EscapeDataString(pathSegment);

    private async Task<Reply> SendAsync(TransportMethod method, string path, string? body, CancellationToken ct, string? contentType = null)
    {
        StringResponse response;
        try
        {
            var configuration = contentType is null ? null : new RequestConfiguration { ContentType = contentType };
            response = await client.Transport.RequestAsync<StringResponse>(
                new EndpointPath(method, path), body is null ? null : PostData.String(body), null, configuration, ct);
        }
        catch (UnsupportedProductException e)
        {
            throw NotElasticsearch(e);
        }
        var details = response.ApiCallDetails;
        if (details.HttpStatusCode is not { } status) throw Unreachable(method.ToString(), path, details.OriginalException);
        return new Reply(status, response.Body ?? "");
    }

    private async Task<Reply> TypedAsync<TResponse>(Func<Task<TResponse>> call) where TResponse : TransportResponse
    {
        TResponse response;
        try
        {
            response = await call();
        }
        catch (UnsupportedProductException e)
        {
            throw NotElasticsearch(e);
        }
        var details = response.ApiCallDetails;
        if (details.HttpStatusCode is not { } status) throw Unreachable("HEAD", alias, details.OriginalException);
        if (details.OriginalException is UnsupportedProductException e2) throw NotElasticsearch(e2);
        return new Reply(status, "");
    }

    private ElasticsearchFeatureIndexException NotElasticsearch(Exception e) => new(
        $"The server at {options.Url} did not identify itself as Elasticsearch (no 'X-Elastic-Product: Elasticsearch' " +
        $"header); check {ElasticsearchSearchOptions.SectionName}:Url.", null, e);

    private ElasticsearchFeatureIndexException Unreachable(string method, string path, Exception? e) => new(
        $"Elasticsearch at {options.Url} could not be reached for {method} /{path}: {e?.Message}", null, e);

    private static ElasticsearchFeatureIndexException Failure(string operation, Reply reply) =>
        new($"Elasticsearch could not {operation}: HTTP {reply.Status}: {reply.ErrorReason()}", reply.Status);

    private readonly record struct Reply(int Status, string Body)
    {
        public bool Success => Status is >= 200 and < 300;

        public JsonNode Json() => JsonNode.Parse(Body) ?? throw new ElasticsearchFeatureIndexException("Elasticsearch sent an empty reply.", Status);

        public IEnumerable<string> ErrorTypes()
        {
            var error = TryParse()?["error"];
            if (error is null) yield break;
            if (error["type"]?.GetValueKind() == JsonValueKind.String) yield return error["type"]!.GetValue<string>();
            if (error["root_cause"] is JsonArray causes)
            {
                foreach (var cause in causes)
                    if (cause?["type"]?.GetValueKind() == JsonValueKind.String) yield return cause["type"]!.GetValue<string>();
            }
        }

        public string ErrorReason()
        {
            var error = TryParse()?["error"];
            var reason = error?["root_cause"]?[0]?["reason"] ?? error?["reason"] ?? error;
            var text = reason is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : reason?.ToJsonString();
            return text ?? (Body.Length > 300 ? Body[..300] : Body);
        }

        private JsonNode? TryParse()
        {
            try
            {
                return Body.Length == 0 ? null : JsonNode.Parse(Body);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
