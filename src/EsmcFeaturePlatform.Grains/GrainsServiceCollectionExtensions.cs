using EsmcFeaturePlatform.Abstractions.Configuration;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace EsmcFeaturePlatform.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The feature-reading service (<see cref="IFeatureReader"/>) over the cluster: silos and cluster clients alike.</summary>
    public static IServiceCollection AddEsmcFeatureReader(this IServiceCollection services)
    {
        services.TryAddSingleton<IFeatureReader, FeatureReader>();
        return services;
    }

    /// <summary>The services the platform's grains need in a silo (the encoder port is registered by the host).</summary>
    public static IServiceCollection AddEsmcGrainServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEsmcFeatureReader();
        services.AddValidatedOptions<IndexingOptions>(configuration);
        services.TryAddSingleton<IIndexingJobObserver, NoIndexingJobObserver>();
        services.AddValidatedOptions<AnalysisCacheOptions>(configuration);
        services.TryAddSingleton(sp => new AnalysisCache(sp.GetRequiredService<IOptions<AnalysisCacheOptions>>()));
        services.AddValidatedOptions<DescribeOptions>(configuration);
        // Search sync only where the host registered an index; elsewhere feature changes are ignored.
        if (services.Any(d => d.ServiceType == typeof(EsmcFeaturePlatform.Abstractions.IFeatureIndex)))
        {
            services.AddValidatedOptions<SearchSyncOptions>(configuration);
            services.TryAddSingleton<FeatureSearchSync>();
            services.TryAddSingleton<IFeatureChangeNotifier>(sp => sp.GetRequiredService<FeatureSearchSync>());
            services.AddHostedService(sp => sp.GetRequiredService<FeatureSearchSync>());
        }
        services.TryAddSingleton<IFeatureChangeNotifier, NoFeatureChangeNotifier>();
        services.AddHostedService<JobWatchdog>();
        services.AddPlacementDirector<SiloKeyedPlacement, SiloKeyedPlacementDirector>();
        return services;
    }
}
