namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The searchable view of one feature. Callers always send the whole current document (never a partial
/// update), so an index never has to merge and a rebuild from grain state gives the same documents.
/// </summary>
public sealed record FeatureDocument(
    string SaeId,
    int Index,
    string? Label,
    string? Text,
    DescriptionStatus? Status,
    DescriptionSource? Source,
    double? Score,
    float? MaxActivation,
    int DocumentCount,
    int CorpusSize,
    double? Idf,
    IReadOnlyList<string> AnnotationTerms,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The document id in every index: the same <c>SAE#INDEX</c> string as <see cref="FeatureKey"/>.</summary>
    public string Id => new FeatureKey(SaeId, Index).ToString();
}

/// <summary>
/// A keyword search with filters. <see cref="Query"/> uses the Lucene classic syntax (both providers accept it):
/// terms are ANDed, <c>"quoted phrases"</c>, <c>prefix*</c>, <c>OR</c>, <c>NOT</c>/<c>-term</c>, <c>label:term</c>.
/// An empty or whitespace query matches every feature (useful with filters), each with relevance 1.
/// </summary>
public sealed record FeatureSearchQuery(
    string Query,
    string? SaeId = null,
    IReadOnlyList<DescriptionStatus>? Statuses = null,
    IReadOnlyList<DescriptionSource>? Sources = null,
    double? MinScore = null,
    int? MinDocumentCount = null,
    int? MaxDocumentCount = null,
    int First = 20,
    string? After = null);

/// <summary>One ranked feature. <see cref="Highlights"/> maps an index field name to HTML-escaped snippets with <c>&lt;em&gt;</c> marks.</summary>
public sealed record FeatureSearchHit(
    string SaeId,
    int Index,
    double Score,
    string Cursor,
    IReadOnlyDictionary<string, string[]> Highlights);

/// <summary>A page of hits; <see cref="TotalCount"/> counts every match, not just this page.</summary>
public sealed record FeatureSearchResult(
    int TotalCount,
    IReadOnlyList<FeatureSearchHit> Hits,
    bool HasNextPage,
    string? EndCursor);

/// <summary>
/// The search port. Implementations: Lucene.Net on local disk (default) and Elasticsearch.
/// Every implementation must pass the same contract test suite.
/// </summary>
public interface IFeatureIndex
{
    /// <summary>Adds or replaces documents by id; they are searchable when the returned task completes.</summary>
    Task UpsertAsync(IReadOnlyCollection<FeatureDocument> documents, CancellationToken ct = default);

    /// <summary>Removes every document of one SAE.</summary>
    Task DeleteSaeAsync(string saeId, CancellationToken ct = default);

    /// <summary>
    /// Ranked search (relevance descending, then SAE id, then feature index, so pages are stable).
    /// Throws <see cref="SearchSyntaxException"/> on a malformed query and <see cref="ArgumentException"/>
    /// naming the argument on a bad <c>First</c>/<c>After</c>/range.
    /// </summary>
    Task<FeatureSearchResult> SearchAsync(FeatureSearchQuery query, CancellationToken ct = default);

    /// <summary>
    /// Replaces the whole index with <paramref name="all"/>. Searches keep seeing the old index until the new one
    /// is complete, and a failed or cancelled rebuild leaves the old index in place.
    /// </summary>
    Task RebuildAsync(IAsyncEnumerable<FeatureDocument> all, CancellationToken ct = default);

    /// <summary>Documents in the index, of one SAE or (null) of all.</summary>
    Task<long> CountAsync(string? saeId = null, CancellationToken ct = default);
}

/// <summary>A query string the search syntax cannot parse (GraphQL maps it to BAD_USER_INPUT).</summary>
public sealed class SearchSyntaxException(string message) : ArgumentException(message);
