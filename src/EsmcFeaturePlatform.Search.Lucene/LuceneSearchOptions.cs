using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Search.Lucene;

/// <summary>Settings of the embedded Lucene index (configuration section <see cref="SectionName"/>).</summary>
public sealed class LuceneSearchOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Search:Lucene";

    /// <summary>Folder holding the index generations; when empty, <c>&lt;Esmc:DataRoot&gt;/search</c>.</summary>
    public string? IndexDirectory { get; set; }

    /// <summary>
    /// How often pending changes are committed to disk. Changes are searchable at once after an upsert; the commit
    /// only decides how much a crash can lose (a rebuild from grain state restores it). Zero commits on every write.
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Indexing buffer for rebuilds; larger means fewer, bigger segments and a faster rebuild.</summary>
    public double RebuildRamBufferMb { get; set; } = 64;

    /// <summary>
    /// Whole search results (and highlight terms) kept for the current index reader, so a repeated query costs a
    /// lookup. Any visible write brings a new reader and so an empty cache: results are never stale. Zero turns it off.
    /// </summary>
    public int ResultCacheEntries { get; set; } = 256;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(IndexDirectory))
            throw new InvalidOperationException($"{SectionName}:IndexDirectory is not set (and no Esmc:DataRoot to default it from).");
        if (CommitInterval < TimeSpan.Zero)
            throw new InvalidOperationException($"{SectionName}:CommitInterval must not be negative, got {CommitInterval}.");
        if (ResultCacheEntries < 0)
            throw new InvalidOperationException($"{SectionName}:ResultCacheEntries must be 0 (off) or more, got {ResultCacheEntries}.");
        if (!(RebuildRamBufferMb >= 1))
            throw new InvalidOperationException($"{SectionName}:RebuildRamBufferMb must be at least 1, got {RebuildRamBufferMb}.");
    }
}
