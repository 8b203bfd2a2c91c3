using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace EsmcFeaturePlatform.Grains;

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
