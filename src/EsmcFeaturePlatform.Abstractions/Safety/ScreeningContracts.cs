namespace EsmcFeaturePlatform.Abstractions;

/*
 * Biosecurity screening (README, "Safety"): every entry point that accepts a protein sequence or a search text
 * calls the one IScreeningPolicy once, before doing anything with the input. The policy matches the input against
 * the operator's controlled-protein database and keyword list, decides (Block or Flag, exempt roles), writes the
 * audit event and answers; the entry point only turns "blocked" into its own refusal (GraphQL SCREENED, HTTP 403, a
 * skipped indexing record). A test in the server tests lists every GraphQL argument and REST route that could carry
 * a sequence or a query and proves each is screened, so a new entry point cannot forget the call.
 */

/// <summary>The names entry points give the policy (they appear in the audit log).</summary>
public static class ScreeningEntryPoints
{
    /// <summary><c>analyzeSequence</c>: the sequence a caller asks about.</summary>
    public const string AnalyzeSequence = "graphql:analyzeSequence";
    /// <summary><c>searchFeatures</c>: the query text.</summary>
    public const string SearchFeatures = "graphql:searchFeatures";
    /// <summary><c>indexCorpus</c>: each record of the corpus file.</summary>
    public const string IndexCorpus = "graphql:indexCorpus";
}

/// <summary>Who sent the input: the key's name and role ("anonymous" when none), and the client address if known.</summary>
public sealed record ScreeningCaller(string Name, string Role, string? ClientAddress = null)
{
    /// <summary>True for a caller without an API key.</summary>
    public bool IsAnonymous => Role == "anonymous";
}

/// <summary>What the policy screens: the entry point, the caller and, for a record of a file, which record.</summary>
public sealed record ScreeningRequest(string EntryPoint, ScreeningCaller Caller, string? Subject = null);

/// <summary>What matched: a controlled sequence or a keyword.</summary>
public enum ScreeningMatchKind
{
    /// <summary>The input aligned to an entry of the controlled-protein database.</summary>
    Sequence,
    /// <summary>The text contained a keyword of the list.</summary>
    Keyword,
}

/// <summary>The best match: the database entry (or keyword), its category and, for sequences, the alignment's identity and length.</summary>
public sealed record ScreeningHit(ScreeningMatchKind Kind, string Entry, string Category, double Identity, int AlignmentLength);

/// <summary>The policy's answer: no hit (clear), a hit that is only flagged (audited, answered), or a blocked hit.</summary>
public sealed record ScreeningVerdict(ScreeningHit? Hit, bool Blocked)
{
    /// <summary>The verdict for input that matched nothing.</summary>
    public static ScreeningVerdict Clear { get; } = new(null, false);
}

/// <summary>What the policy screens with, for /healthz and the start-up log.</summary>
public sealed record ScreeningStatus(
    bool SequenceScreening, int SequenceEntries, string? SequenceDatabase, bool KeywordScreening, int Keywords, string Action, string Summary);

/// <summary>The one screening port (see the note above). Implementations are thread-safe and fast enough to call on every request.</summary>
public interface IScreeningPolicy
{
    /// <summary>What the policy screens with (databases, keyword list, action).</summary>
    ScreeningStatus Status { get; }

    /// <summary>Screens a protein sequence as the caller sent it (the input rule is applied here).</summary>
    Task<ScreeningVerdict> ScreenSequenceAsync(string sequence, ScreeningRequest request, CancellationToken cancellationToken = default);

    /// <summary>Screens a search text (a query) against the keyword list.</summary>
    Task<ScreeningVerdict> ScreenTextAsync(string text, ScreeningRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// One audited match. <see cref="Content"/> is the sequence or text itself only when the operator asked for it
/// (Esmc:Safety:StoreSequences); otherwise only its SHA-256 and length are kept.
/// </summary>
public sealed record ScreeningEvent(
    DateTimeOffset Time,
    string Caller,
    string? ClientHash,
    string EntryPoint,
    string? Subject,
    ScreeningMatchKind Kind,
    string Sha256,
    int Length,
    string? Content,
    string Entry,
    string Category,
    double Identity,
    int AlignmentLength,
    string Action);

/// <summary>One audit event with its paging cursor.</summary>
/// <param name="Cursor">Pass as <c>after</c> to read the events older than this one.</param>
/// <param name="Event">The event.</param>
public sealed record ScreeningEventEdge(string Cursor, ScreeningEvent Event);

/// <summary>One page of the audit log, newest first.</summary>
/// <param name="TotalCount">Events in the whole log.</param>
/// <param name="Edges">This page's events.</param>
/// <param name="HasNextPage">Whether older events follow.</param>
/// <param name="EndCursor">The cursor of the last event of the page, if any.</param>
public sealed record ScreeningEventPage(int TotalCount, IReadOnlyList<ScreeningEventEdge> Edges, bool HasNextPage, string? EndCursor);

/// <summary>The append-only audit log of screening matches (newest first when read).</summary>
public interface IScreeningAuditLog
{
    /// <summary>Records one match.</summary>
    Task AppendAsync(ScreeningEvent screeningEvent, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="first"/> events older than the cursor <paramref name="after"/> (null: from the newest).</summary>
    Task<ScreeningEventPage> ReadAsync(int first, string? after, CancellationToken cancellationToken = default);

    /// <summary>The salted hash that stands for an anonymous caller's address (the salt never leaves the log).</summary>
    Task<string> HashClientAddressAsync(string address, CancellationToken cancellationToken = default);
}
