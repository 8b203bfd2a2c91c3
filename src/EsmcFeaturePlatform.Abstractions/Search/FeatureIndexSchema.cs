using System.Globalization;
using System.Text;

namespace EsmcFeaturePlatform.Abstractions;

/// <summary>How a search-index field is stored and matched.</summary>
public enum FeatureIndexFieldKind
{
    /// <summary>An exact value, for filters (not analyzed).</summary>
    Keyword,
    /// <summary>Analyzed full text, for relevance.</summary>
    Text,
    /// <summary>A 32-bit integer.</summary>
    Integer,
    /// <summary>A 32-bit float.</summary>
    Float,
    /// <summary>A 64-bit float.</summary>
    Double,
    /// <summary>A point in time.</summary>
    Date,
}

/// <summary>One field of the search index, as both providers name and type it.</summary>
public sealed record FeatureIndexField(string Name, FeatureIndexFieldKind Kind);

/// <summary>
/// The single source of field names, types and boosts. The committed Elasticsearch mapping
/// (<c>schemas/feature-index.mapping.json</c>) is generated from this table and the Lucene documents are built
/// with these names, so a query written for one provider means the same in the other.
/// </summary>
public static class FeatureIndexSchema
{
    /// <summary>The document id, <c>SAE#INDEX</c> (<see cref="FeatureKey"/>).</summary>
    public const string Id = "id";
    /// <summary>The SAE id.</summary>
    public const string Sae = "sae";
    /// <summary>The feature index.</summary>
    public const string Index = "index";
    /// <summary>The current description's label.</summary>
    public const string Label = "label";
    /// <summary>The current description's text.</summary>
    public const string Text = "text";
    /// <summary>The current description's status (<c>APPROVED</c>, ...).</summary>
    public const string Status = "status";
    /// <summary>The current description's source (<c>HUMAN</c>, ...).</summary>
    public const string Source = "source";
    /// <summary>The current description's quality score.</summary>
    public const string Score = "score";
    /// <summary>The feature's max raw activation over the corpus.</summary>
    public const string MaxActivation = "max_activation";
    /// <summary>Proteins of the corpus in which the feature fired.</summary>
    public const string DocumentCount = "document_count";
    /// <summary>Proteins indexed into the SAE.</summary>
    public const string CorpusSize = "corpus_size";
    /// <summary>ln(corpus size / document count).</summary>
    public const string Idf = "idf";
    /// <summary>Annotation terms shared by the feature's top examples.</summary>
    public const string AnnotationTerms = "annotation_terms";
    /// <summary>When the document was written.</summary>
    public const string UpdatedAt = "updated_at";

    /// <summary>
    /// The most hits one page returns; a larger <c>First</c> is clamped to it (the contract asks that at least 100
    /// be allowed). Clamping rather than failing keeps naive clients working: they still see <c>HasNextPage</c>.
    /// </summary>
    public const int MaxPageSize = 100;

    /// <summary>Every field with its kind: what the mapping and the Lucene documents are built from.</summary>
    public static IReadOnlyList<FeatureIndexField> Fields { get; } =
    [
        new(Id, FeatureIndexFieldKind.Keyword),
        new(Sae, FeatureIndexFieldKind.Keyword),
        new(Index, FeatureIndexFieldKind.Integer),
        new(Label, FeatureIndexFieldKind.Text),
        new(Text, FeatureIndexFieldKind.Text),
        new(Status, FeatureIndexFieldKind.Keyword),
        new(Source, FeatureIndexFieldKind.Keyword),
        new(Score, FeatureIndexFieldKind.Double),
        new(MaxActivation, FeatureIndexFieldKind.Float),
        new(DocumentCount, FeatureIndexFieldKind.Integer),
        new(CorpusSize, FeatureIndexFieldKind.Integer),
        new(Idf, FeatureIndexFieldKind.Double),
        new(AnnotationTerms, FeatureIndexFieldKind.Text),
        new(UpdatedAt, FeatureIndexFieldKind.Date),
    ];

    /// <summary>
    /// Full-text fields and their relevance boosts: a word in the short label says more about a feature than the
    /// same word in the prose, and both say more than an annotation merely enriched among its examples.
    /// </summary>
    public static IReadOnlyList<(string Field, float Boost)> SearchedFields { get; } =
    [
        (Label, 3f),
        (Text, 2f),
        (AnnotationTerms, 1f),
    ];

    /// <summary>Keyword values use the GraphQL enum spelling so filters read the same everywhere.</summary>
    public static string ToIndexValue(DescriptionStatus status) => status.ToString().ToUpperInvariant();

    /// <summary>As the status overload, for sources.</summary>
    public static string ToIndexValue(DescriptionSource source) => source.ToString().ToUpperInvariant();

    /// <summary>A stored status value back as the enum; null when absent or unknown.</summary>
    public static DescriptionStatus? ParseStatus(string? value) =>
        Enum.TryParse<DescriptionStatus>(value, ignoreCase: true, out var s) ? s : null;

    /// <summary>A stored source value back as the enum; null when absent or unknown.</summary>
    public static DescriptionSource? ParseSource(string? value) =>
        Enum.TryParse<DescriptionSource>(value, ignoreCase: true, out var s) ? s : null;

    /// <summary>
    /// Checks the parts of a query that do not depend on the provider; returns the page size to use.
    /// Throws <see cref="ArgumentException"/> whose message names the bad argument.
    /// </summary>
    public static int ValidateAndGetPageSize(FeatureSearchQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Query is null)
            throw new ArgumentException("query must not be null (use an empty string to match every feature).", nameof(query));
        if (query.First < 0)
            throw new ArgumentException($"first must be 0 or more, got {query.First}.", "first");
        if (query.MinScore is { } min && !double.IsFinite(min))
            throw new ArgumentException($"minScore must be a finite number, got {min}.", "minScore");
        if (query.MinDocumentCount is < 0)
            throw new ArgumentException($"minDocumentCount must be 0 or more, got {query.MinDocumentCount}.", "minDocumentCount");
        if (query.MinDocumentCount is { } lo && query.MaxDocumentCount is { } hi && lo > hi)
            throw new ArgumentException($"minDocumentCount ({lo}) is greater than maxDocumentCount ({hi}).", "maxDocumentCount");
        if (query.After is not null) FeatureSearchCursor.Decode(query.After);
        return Math.Min(query.First, MaxPageSize);
    }

    /// <summary>Refuses a document no provider may store (empty or '#'-holding SAE id, negative index, null terms), naming it.</summary>
    public static void ValidateDocument(FeatureDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (string.IsNullOrWhiteSpace(document.SaeId) || document.SaeId.Contains('#', StringComparison.Ordinal))
            throw new ArgumentException($"Feature document has an invalid SAE id '{document.SaeId}' (empty or containing '#').", nameof(document));
        if (document.Index < 0)
            throw new ArgumentException($"Feature document {document.SaeId} has a negative index {document.Index}.", nameof(document));
        if (document.AnnotationTerms is null)
            throw new ArgumentException($"Feature document {document.Id} has null AnnotationTerms (use an empty list).", nameof(document));
    }
}

/// <summary>
/// The position after which the next page starts: the sort key of the last hit (relevance, SAE, index).
/// Encoded as opaque base64url so clients do not build cursors themselves; the version prefix lets the format change.
/// </summary>
public readonly record struct FeatureSearchCursor(double Score, string SaeId, int Index)
{
    private const string Version = "c1";

    /// <summary>The cursor as the opaque string clients pass back as <c>after</c>.</summary>
    public string Encode()
    {
        var raw = string.Join('\n', Version, Score.ToString("R", CultureInfo.InvariantCulture),
            Index.ToString(CultureInfo.InvariantCulture), SaeId);
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(raw)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Throws an <see cref="ArgumentException"/> for <c>after</c> when the text is not a cursor we issued.</summary>
    public static FeatureSearchCursor Decode(string cursor)
    {
        var error = new ArgumentException($"after '{Truncate(cursor)}' is not a cursor returned by searchFeatures.", "after");
        string raw;
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            raw = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
        }
        catch (FormatException)
        {
            throw error;
        }
        var parts = raw.Split('\n', 4);
        if (parts.Length != 4 || parts[0] != Version
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !double.IsFinite(score)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || parts[3].Length == 0)
            throw error;
        return new FeatureSearchCursor(score, parts[3], index);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
