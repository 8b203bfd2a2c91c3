using EsmcFeaturePlatform.Abstractions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Search.Elasticsearch;

public static class ElasticsearchServiceCollectionExtensions
{
    /// <summary>
    /// Registers Elasticsearch as the <see cref="IFeatureIndex"/>, configured from <c>Esmc:Search:Elasticsearch</c>
    /// (<c>Url</c>, <c>IndexName</c>, <c>ApiKey</c>). The index is created from the committed mapping on first use;
    /// a host may call <see cref="ElasticsearchFeatureIndex.EnsureIndexAsync"/> at start to fail fast.
    /// </summary>
    public static IServiceCollection AddElasticsearchFeatureIndex(
        this IServiceCollection services, IConfiguration configuration, Action<ElasticsearchSearchOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddValidatedOptions<ElasticsearchSearchOptions>(configuration);
        if (configure is not null) builder.Configure(configure);
        services.AddSingleton(sp => ElasticsearchFeatureIndex.Create(sp.GetRequiredService<IOptions<ElasticsearchSearchOptions>>().Value));
        services.AddSingleton<IFeatureIndex>(sp => sp.GetRequiredService<ElasticsearchFeatureIndex>());
        return services;
    }
}
