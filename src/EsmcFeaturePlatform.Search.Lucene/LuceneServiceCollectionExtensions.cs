using EsmcFeaturePlatform.Abstractions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Search.Lucene;

public static class LuceneServiceCollectionExtensions
{
    /// <summary>
    /// Registers the embedded Lucene index as the <see cref="IFeatureIndex"/>. Options come from
    /// <c>Esmc:Search:Lucene</c>; the index folder defaults to <c>&lt;Esmc:DataRoot&gt;/search</c> (DataRoot defaults to
    /// <c>./data</c>). The index opens on first resolution and commits when the container is disposed.
    /// </summary>
    public static IServiceCollection AddLuceneFeatureIndex(
        this IServiceCollection services, IConfiguration configuration, Action<LuceneSearchOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddValidatedOptions<LuceneSearchOptions>(configuration);
        if (configure is not null) builder.Configure(configure);
        builder.PostConfigure(o =>
        {
            if (string.IsNullOrWhiteSpace(o.IndexDirectory))
                o.IndexDirectory = Path.Combine(configuration["Esmc:DataRoot"] is { Length: > 0 } dataRoot ? dataRoot : "./data", "search");
        });
        services.AddSingleton(sp => new LuceneFeatureIndex(sp.GetRequiredService<IOptions<LuceneSearchOptions>>().Value));
        services.AddSingleton<IFeatureIndex>(sp => sp.GetRequiredService<LuceneFeatureIndex>());
        return services;
    }
}
