using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Starts the pull when the host starts, without holding up the HTTP endpoint.</summary>
internal sealed class ModelPullService(ModelPuller puller, PlatformOptions platform) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => puller.RunAsync(ModelPulls.ModelRoot(platform), stoppingToken), stoppingToken);
}

public static class ModelPulls
{
    /// <summary>Esmc:ModelRoot, else DataRoot/models (where the demo model goes when nothing is pulled).</summary>
    public static string ModelRoot(PlatformOptions platform) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(platform.ModelRoot) ? Path.Combine(platform.ResolvedDataRoot, "models") : platform.ModelRoot);

    /// <summary>Esmc:Models: the options, the puller and its background service (registered before Orleans, so it starts first).</summary>
    public static IHostApplicationBuilder AddEsmcModelPull(this IHostApplicationBuilder builder)
    {
        var options = builder.Services.BindValidatedOptions<ModelPullOptions>(builder.Configuration);
        if (!builder.Configuration.GetPlatformOptions().HostsSilo) options.Pull.Clear();   // an API-only host loads no models
        builder.Services.AddSingleton<ModelPuller>();
        if (options.Pull.Count > 0) builder.Services.AddHostedService<ModelPullService>();
        return builder;
    }
}
