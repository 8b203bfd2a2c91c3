using EsmcFeaturePlatform.Agents;
using EsmcFeaturePlatform.Search.Elasticsearch;
using EsmcFeaturePlatform.Search.Lucene;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

public static class SearchAndAgentHosting
{
    /// <summary>
    /// The search index. Must run before AddEsmcOrleans: the silo's grain services start the search sync only when
    /// an index is registered. The embedded Lucene index is per process, so with several silos or a separate API
    /// host use Elasticsearch (every silo then writes to the same index).
    /// </summary>
    public static IHostApplicationBuilder AddEsmcSearch(this IHostApplicationBuilder builder)
    {
        var search = builder.Configuration.GetValidatedOptions<SearchOptions>();
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
