using EsmcFeaturePlatform.Agents;
using EsmcFeaturePlatform.Search.Elasticsearch;
using EsmcFeaturePlatform.Search.Lucene;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Section <c>Esmc:Search</c> (docs/contracts.md, section 3.1): which <see cref="Abstractions.IFeatureIndex"/> the host uses.</summary>
public sealed class SearchOptions
{
    public const string SectionName = "Esmc:Search";

    /// <summary><c>Lucene</c> (embedded, under Esmc:DataRoot/search) or <c>Elasticsearch</c> (Esmc:Search:Elasticsearch:Url).</summary>
    public string Provider { get; set; } = "Lucene";

    public bool IsLucene => Provider.Equals("Lucene", StringComparison.OrdinalIgnoreCase);

    public bool IsElasticsearch => Provider.Equals("Elasticsearch", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (!IsLucene && !IsElasticsearch)
            throw new ArgumentException($"{SectionName}:Provider must be 'Lucene' or 'Elasticsearch'; got '{Provider}'.");
    }
}

public static class SearchAndAgentHosting
{
    /// <summary>
    /// The search index. Must run before AddEsmcOrleans: the silo's grain services start the search sync only when
    /// an index is registered. The embedded Lucene index is per process, so with several silos or a separate API
    /// host use Elasticsearch (every silo then writes to the same index).
    /// </summary>
    public static IHostApplicationBuilder AddEsmcSearch(this IHostApplicationBuilder builder)
    {
        var search = builder.Configuration.GetSection(SearchOptions.SectionName).Get<SearchOptions>() ?? new SearchOptions();
        search.Validate();
        var platform = builder.Configuration.GetPlatformOptions();
        if (search.IsElasticsearch)
            builder.Services.AddElasticsearchFeatureIndex(builder.Configuration);
        else
            builder.Services.AddLuceneFeatureIndex(builder.Configuration, o =>
            {
                // Resolved against DataRoot as the host resolves it (not the process's working folder at first use).
                if (string.IsNullOrWhiteSpace(o.IndexDirectory)) o.IndexDirectory = Path.Combine(platform.ResolvedDataRoot, "search");
            });
        TimedFeatureIndex.Decorate(builder.Services);   // esmc.search.duration, the same for both providers
        return builder;
    }

    /// <summary>The description agent for describeFeatures jobs: Semantic Kernel when Esmc:Agent:Endpoint is set, else evidence-only.</summary>
    public static IHostApplicationBuilder AddEsmcDescriber(this IHostApplicationBuilder builder)
    {
        if (builder.Configuration.GetPlatformOptions().HostsSilo) builder.Services.AddFeatureDescriber(builder.Configuration);
        return builder;
    }
}
