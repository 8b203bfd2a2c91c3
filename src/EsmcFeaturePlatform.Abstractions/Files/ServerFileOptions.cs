using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Abstractions.Files;

/// <summary>
/// Section <c>Esmc:Corpus</c>: where the server may read the files an API call names (corpora, normalization
/// statistics, datasets), and how much of them.
/// </summary>
public sealed class ServerFileOptions : IValidatedOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public static string SectionName => "Esmc:Corpus";

    /// <summary>Folders the API may read from (and uploads go to the first); empty = <c>DataRoot/corpora</c>, set by the host.</summary>
    public string[] Roots { get; set; } = [];

    /// <summary>Largest file opened, checked before reading.</summary>
    public long MaxFileBytes { get; set; } = 64L << 30;

    /// <summary>Most bytes of text a corpus may hold once decompressed (a gzip bomb stops here).</summary>
    public long MaxDecompressedBytes { get; set; } = 256L << 30;

    /// <summary>Longest line of a corpus, in bytes (a file of zeros or one endless line stops here, not in memory).</summary>
    public int MaxLineBytes { get; set; } = 1 << 20;

    /// <summary>A read that returns nothing for this long fails the job instead of holding it.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Largest corpus accepted by the upload route (<c>PUT /api/v1/corpora/{name}</c>).</summary>
    public long MaxUploadBytes { get; set; } = 8L << 30;

    /// <summary>Refuses settings the rule cannot work with (non-positive limits), naming the key.</summary>
    public void Validate()
    {
        if (MaxFileBytes < 1) throw new ArgumentException($"{SectionName}:MaxFileBytes must be positive; got {MaxFileBytes}.");
        if (MaxDecompressedBytes < 1) throw new ArgumentException($"{SectionName}:MaxDecompressedBytes must be positive; got {MaxDecompressedBytes}.");
        if (MaxLineBytes < 1024) throw new ArgumentException($"{SectionName}:MaxLineBytes must be at least 1024; got {MaxLineBytes}.");
        if (ReadTimeout <= TimeSpan.Zero) throw new ArgumentException($"{SectionName}:ReadTimeout must be positive; got {ReadTimeout}.");
        if (MaxUploadBytes < 1) throw new ArgumentException($"{SectionName}:MaxUploadBytes must be positive; got {MaxUploadBytes}.");
        if (Roots.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException($"{SectionName}:Roots must not hold an empty folder name.");
    }
}
