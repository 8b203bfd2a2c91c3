namespace EsmcFeaturePlatform.Corpus;

/// <summary>
/// A corpus file that cannot be read as FASTA or UniProt. The message always names the file, the line and,
/// when one was being read, the record id, so that a user can open the file at the right place.
/// </summary>
public sealed class CorpusFormatException : FormatException
{
    public CorpusFormatException(string source, long line, string? recordId, string reason, Exception? inner = null)
        : base(Compose(source, line, recordId, reason), inner)
    {
        Source = source;
        Line = line;
        RecordId = recordId;
        Reason = reason;
    }

    /// <summary>The file (or display name of the stream) being read.</summary>
    public new string Source { get; }

    /// <summary>1-based line number where the problem was found (0 when it is about the file as a whole).</summary>
    public long Line { get; }

    /// <summary>The record being read, when known.</summary>
    public string? RecordId { get; }

    /// <summary>The reason alone, without the location.</summary>
    public string Reason { get; }

    /// <summary>
    /// True when only one record is bad and reading can go on after it (empty sequence, duplicate id...);
    /// false when the file itself is unreadable (binary data, truncated gzip, not FASTA or UniProt).
    /// </summary>
    public bool IsRecordLevel { get; init; }

    private static string Compose(string source, long line, string? recordId, string reason)
    {
        var where = line > 0 ? $"{source}:{line}" : source;
        return recordId is null ? $"{where}: {reason}" : $"{where}: record '{recordId}': {reason}";
    }
}
