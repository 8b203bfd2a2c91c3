using Azure.Data.Tables;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Safety;
using EsmcFeaturePlatform.Abstractions.Configuration;

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
        var options = builder.Services.BindValidatedOptions<SafetyOptions>(builder.Configuration);
        var storage = builder.Configuration.GetValidatedOptions<StorageOptions>();
        var table = string.IsNullOrWhiteSpace(options.AuditTable) ? ScreeningAuditTable.TableNameFor(storage.Container) : options.AuditTable;
        builder.Services.AddSingleton<IScreeningAuditLog>(new ScreeningAuditTable(new TableServiceClient(storage.ConnectionString), table));
        builder.Services.AddSingleton<IScreeningPolicy>(sp =>
            ScreeningPolicy.CreateAsync(options, sp.GetRequiredService<IScreeningAuditLog>(), sp.GetRequiredService<ILogger<ScreeningPolicy>>()).GetAwaiter().GetResult());
        builder.Services.AddHostedService<ScreeningStartup>();
        return builder;
    }
}
