using Azure.Data.Tables;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Safety;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Biosecurity screening (README, "Safety"): the policy every entry point calls, and its audit table.</summary>
public static class SafetyHosting
{
    /// <summary>
    /// Registers <see cref="IScreeningPolicy"/> and <see cref="IScreeningAuditLog"/> for every role (the API screens
    /// requests, silos screen indexing records). The database and keyword list are read when the host starts: a bad
    /// file stops the start naming it, and the log says what is screened (sequence screening is off without a database).
    /// </summary>
    public static IHostApplicationBuilder AddEsmcSafety(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(SafetyOptions.SectionName).Get<SafetyOptions>() ?? new SafetyOptions();
        options.Validate();
        var storage = builder.Configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        storage.Validate();
        var table = string.IsNullOrWhiteSpace(options.AuditTable) ? ScreeningAuditTable.TableNameFor(storage.Container) : options.AuditTable;
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<IScreeningAuditLog>(new ScreeningAuditTable(new TableServiceClient(storage.ConnectionString), table));
        builder.Services.AddSingleton<IScreeningPolicy>(sp =>
            ScreeningPolicy.CreateAsync(options, sp.GetRequiredService<IScreeningAuditLog>(), sp.GetRequiredService<ILogger<ScreeningPolicy>>()).GetAwaiter().GetResult());
        builder.Services.AddHostedService<ScreeningStartup>();
        return builder;
    }
}

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
