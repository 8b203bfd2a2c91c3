using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// Section <c>Esmc:AlphaFold</c>: where the web page's "Fetch from AlphaFold DB" goes. The server fetches on the user's
/// request only (the page itself never reaches the internet), so one place holds the size cap, timeout and cache.
/// </summary>
public sealed class AlphaFoldOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:AlphaFold";

    /// <summary>The AlphaFold DB API root; <c>prediction/{accession}</c> is appended. Empty turns the route off.</summary>
    public string BaseUrl { get; set; } = "https://alphafold.ebi.ac.uk/api/";

    /// <summary>For the metadata request and the model download together.</summary>
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Largest model file accepted (AlphaFold models of the longest proteins are a few MiB as PDB).</summary>
    public int MaxMegabytes { get; set; } = 20;

    /// <summary>Memory the cache of fetched models may hold; 0 turns caching off.</summary>
    public int CacheMegabytes { get; set; } = 64;

    public void Validate()
    {
        if (BaseUrl.Length > 0 && (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            throw new ArgumentException($"{SectionName}:BaseUrl must be an absolute http(s) URL or empty; got '{BaseUrl}'.");
        if (TimeoutSeconds < 1) throw new ArgumentException($"{SectionName}:TimeoutSeconds must be positive; got {TimeoutSeconds}.");
        if (MaxMegabytes < 1) throw new ArgumentException($"{SectionName}:MaxMegabytes must be positive; got {MaxMegabytes}.");
        if (CacheMegabytes < 0) throw new ArgumentException($"{SectionName}:CacheMegabytes must be 0 or more; got {CacheMegabytes}.");
    }
}
