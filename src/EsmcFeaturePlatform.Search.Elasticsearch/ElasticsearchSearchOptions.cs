using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Search.Elasticsearch;

/// <summary>Settings of the Elasticsearch index (configuration section <see cref="SectionName"/>).</summary>
public sealed class ElasticsearchSearchOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Search:Elasticsearch";

    /// <summary><c>Esmc:Search:Elasticsearch:Url</c>, e.g. <c>https://search.example.org:9200</c>.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// The alias every read and write goes through. The concrete indices behind it are named
    /// <c>{IndexName}-{timestamp}</c>, so a rebuild can fill a new one and swap the alias atomically.
    /// </summary>
    public string IndexName { get; set; } = "esmc-features";

    /// <summary>Encoded API key (the value Elasticsearch returns as <c>encoded</c>); sent as <c>Authorization: ApiKey ...</c>.</summary>
    public string? ApiKey { get; set; }

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Documents per bulk request during a rebuild.</summary>
    public int RebuildBatchSize { get; set; } = 1000;

    void IValidatedOptions.Validate() => Validate();

    /// <summary>The checked URL of the cluster; refuses settings that cannot work with an error naming the key.</summary>
    internal Uri Validate()
    {
        if (string.IsNullOrWhiteSpace(Url) || !Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new InvalidOperationException($"{SectionName}:Url must be an absolute http(s) URL, got '{Url}'.");
        // Elasticsearch index names: lowercase, no path or wildcard characters, not starting with -, _ or +.
        if (string.IsNullOrEmpty(IndexName) || IndexName != IndexName.ToLowerInvariant() || IndexName[0] is '-' or '_' or '+'
            || IndexName.IndexOfAny(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) >= 0)
            throw new InvalidOperationException($"{SectionName}:IndexName '{IndexName}' is not a valid Elasticsearch index name.");
        if (RebuildBatchSize < 1)
            throw new InvalidOperationException($"{SectionName}:RebuildBatchSize must be at least 1, got {RebuildBatchSize}.");
        return uri;
    }
}
