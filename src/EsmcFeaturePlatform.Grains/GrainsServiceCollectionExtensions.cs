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
        services.AddOptions<IndexingOptions>().Bind(configuration.GetSection(IndexingOptions.SectionName))
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        services.TryAddSingleton<IIndexingJobObserver, NoIndexingJobObserver>();
        services.AddOptions<AnalysisCacheOptions>().Bind(configuration.GetSection(AnalysisCacheOptions.SectionName))
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        services.TryAddSingleton(sp => new AnalysisCache(sp.GetRequiredService<IOptions<AnalysisCacheOptions>>()));
        services.AddOptions<DescribeOptions>().Bind(configuration.GetSection(DescribeOptions.SectionName))
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        // Search sync only where the host registered an index; elsewhere feature changes are ignored.
        if (services.Any(d => d.ServiceType == typeof(EsmcFeaturePlatform.Abstractions.IFeatureIndex)))
        {
            services.AddOptions<SearchSyncOptions>().Bind(configuration.GetSection(SearchSyncOptions.SectionName))
                .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
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

/// <summary>Revives unfinished jobs periodically: the registry grain survives any silo, so a job lost with its silo restarts here.</summary>
internal sealed class JobWatchdog(IGrainFactory grains, IOptions<IndexingOptions> options, ILogger<JobWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.WatchdogInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try { await grains.GetGrain<IJobRegistryGrain>(0).ResumeUnfinishedAsync(); }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogDebug(ex, "Job watchdog tick failed; retrying next tick");
            }
        }
    }
}
