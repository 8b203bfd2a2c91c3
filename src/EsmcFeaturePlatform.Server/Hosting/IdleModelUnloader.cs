using EsmcFeaturePlatform.Inference.TorchSharp;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Frees models idle longer than Esmc:Inference:IdleUnloadAfter (off when zero).</summary>
/// <remarks>The encoder is resolved only after a model pull on start ended: resolving it reads the model root.</remarks>
internal sealed class IdleModelUnloader(IServiceProvider services, ModelPuller puller, IOptions<InferenceOptions> options, ILogger<IdleModelUnloader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = options.Value.IdleUnloadAfter;
        if (idle <= TimeSpan.Zero) return;
        await puller.Completion.WaitAsync(stoppingToken);
        var encoder = services.GetRequiredService<TorchFeatureEncoder>();
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, idle.Ticks / 4)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var unloaded = encoder.UnloadIdleModels();
            if (unloaded > 0) logger.LogInformation("Unloaded {Count} idle model(s)", unloaded);
        }
    }
}
