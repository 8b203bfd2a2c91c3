using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Safety;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Loads the screening database at start (not on the first request) and says what is screened.</summary>
internal sealed class ScreeningStartup(IServiceProvider services, ILogger<ScreeningStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var status = services.GetRequiredService<IScreeningPolicy>().Status;
        if (status.SequenceScreening) logger.LogInformation("Screening: {Summary}", status.Summary);
        else logger.LogWarning("Screening: {Summary}. Set Esmc:Safety:SequenceDatabase to a FASTA file of controlled proteins to screen sequences (README, \"Safety\").", status.Summary);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
