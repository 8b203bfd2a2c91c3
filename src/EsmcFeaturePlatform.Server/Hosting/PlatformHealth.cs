using System.Text.Json;
using Azure.Storage.Blobs;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// <c>/healthz</c>: one ASP.NET Core health check per part (storage, cluster, model catalog, search), each with its own
/// status in <c>checks</c>. The top-level <c>status</c> keeps the values operators and the README know: <c>ok</c> (200),
/// <c>pulling</c> and <c>pull failed</c> while or after models are pulled on start (503), <c>unavailable</c> when a
/// part is down (503). Check descriptions name what failed, never an exception's text (the endpoint needs no key).
/// </summary>
public static class PlatformHealth
{
    public const string Path = "/healthz";
    public const string Storage = "storage";
    public const string Cluster = "cluster";
    public const string Models = "models";
    public const string Search = "search";

    /// <summary>How long a check waits for its part: a probe must answer, not hang with the part.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    internal static async Task WriteAsync(HttpContext http, HealthReport report)
    {
        var models = report.Entries.GetValueOrDefault(Models);
        var pull = models.Data?.GetValueOrDefault("pull") as string;
        var status = pull is "pulling" or "pull failed" ? pull : report.Status == HealthStatus.Unhealthy ? "unavailable" : "ok";
        var body = new Dictionary<string, object?> { ["status"] = status };
        if (pull is not null) body["detail"] = models.Data!.GetValueOrDefault("detail");
        if (models.Data?.GetValueOrDefault("saes") is int saes && status == "ok") body["saes"] = saes;
        // What is screened, so an operator sees at a glance that sequence screening is off without a database.
        var screening = http.RequestServices.GetRequiredService<IScreeningPolicy>().Status;
        body["screening"] = new
        {
            sequences = screening.SequenceScreening ? "on" : "off",
            sequenceEntries = screening.SequenceEntries,
            keywords = screening.KeywordScreening ? "on" : "off",
            keywordCount = screening.Keywords,
            action = screening.Action,
            summary = screening.Summary,
        };
        body["checks"] = report.Entries.ToDictionary(e => e.Key, e => new Dictionary<string, object?>
        {
            ["status"] = e.Value.Status.ToString().ToLowerInvariant(),
            ["description"] = e.Value.Description,
            ["durationMs"] = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
        });
        http.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(http.Response.Body, body, JsonSerializerOptions.Web, http.RequestAborted);
    }
}

/// <summary>Grain state's blob storage answers (an account reached, the container's existence known).</summary>
internal sealed class StorageHealthCheck(StorageOptions storage) : IHealthCheck
{
    // No retries: a probe reports what storage does now; the grains' own clients retry.
    private readonly BlobContainerClient container = new BlobServiceClient(storage.ConnectionString, new BlobClientOptions
    {
        Retry = { MaxRetries = 0, NetworkTimeout = PlatformHealth.Timeout },
    }).GetBlobContainerClient(storage.Container);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var exists = await container.ExistsAsync(cancellationToken).WaitAsync(PlatformHealth.Timeout, cancellationToken);
            return HealthCheckResult.Healthy(exists.Value ? "blob storage reached" : "blob storage reached; the grain-state container is not created yet");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"storage did not answer ({ex.GetType().Name})", ex);
        }
    }
}

/// <summary>The cluster has an active silo (through the membership this host sees, silo or client).</summary>
internal sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(PlatformHealth.Timeout, cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)", new Dictionary<string, object> { ["silos"] = hosts.Count })
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the cluster did not answer ({ex.GetType().Name})", ex);
        }
    }
}

/// <summary>
/// The model catalog loads (its SAEs counted). While models are pulled on start (Esmc:Models:Pull) the catalog cannot
/// load yet: the check says so at once instead of waiting for it.
/// </summary>
internal sealed class ModelCatalogHealthCheck(IGrainFactory grains, ModelPuller puller) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (puller.Status is "pending" or "pulling")
            return HealthCheckResult.Unhealthy("models are being pulled", data: PullData("pulling"));
        if (puller.Status == "failed")
            return HealthCheckResult.Unhealthy("the model pull failed", data: PullData("pull failed"));
        try
        {
            var catalog = await grains.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync().WaitAsync(PlatformHealth.Timeout, cancellationToken);
            return HealthCheckResult.Healthy($"{catalog.Saes.Length} SAE(s) served", new Dictionary<string, object> { ["saes"] = catalog.Saes.Length });
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the model catalog did not answer ({ex.GetType().Name})", ex);
        }
    }

    private Dictionary<string, object> PullData(string state)
    {
        var data = new Dictionary<string, object> { ["pull"] = state };
        if (puller.Detail is { } detail) data["detail"] = detail;
        return data;
    }
}

/// <summary>The search index answers a count (Lucene on disk or Elasticsearch).</summary>
internal sealed class SearchHealthCheck(IFeatureIndex? index = null) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (index is null) return HealthCheckResult.Healthy("no search index on this host");
        try
        {
            var documents = await index.CountAsync(ct: cancellationToken).WaitAsync(PlatformHealth.Timeout, cancellationToken);
            return HealthCheckResult.Healthy($"{documents} feature document(s)", new Dictionary<string, object> { ["documents"] = documents });
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"the search index did not answer ({ex.GetType().Name})", ex);
        }
    }
}

/// <summary>
/// One check's probe shared by every <c>/healthz</c> call within <see cref="Fresh"/> of it, and by every call while it
/// runs: the endpoint needs no key and is exempt from rate limiting (probes must always answer), so without this each
/// call would cost a storage round trip and three grain calls, and a flood of probes would become a flood on storage.
/// </summary>
internal sealed class SharedHealthCheck(IHealthCheck inner, TimeProvider time) : IHealthCheck
{
    /// <summary>How old a finished probe may be and still answer; short enough that an outage shows within a second.</summary>
    internal static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private Task<HealthCheckResult>? _probe;
    private long _finishedAt;

    /// <summary>A registration whose check, created once, shares its probes (<paramref name="failureStatus"/> as in AddCheck).</summary>
    public static HealthCheckRegistration Registration<T>(string name, HealthStatus? failureStatus = null) where T : class, IHealthCheck
    {
        SharedHealthCheck? shared = null;
        return new HealthCheckRegistration(name, services => LazyInitializer.EnsureInitialized(ref shared,
            () => new SharedHealthCheck(ActivatorUtilities.GetServiceOrCreateInstance<T>(services), services.GetService<TimeProvider>() ?? TimeProvider.System)),
            failureStatus, tags: null);
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var stale = _probe is null || (_probe.IsCompleted && time.GetElapsedTime(Volatile.Read(ref _finishedAt)) > Fresh);
            if (stale) _probe = ProbeAsync(context);
            return _probe!.WaitAsync(cancellationToken);
        }
    }

    // Not tied to one caller's cancellation: other callers share the result (each check bounds itself by PlatformHealth.Timeout).
    private async Task<HealthCheckResult> ProbeAsync(HealthCheckContext context)
    {
        try
        {
            return await inner.CheckHealthAsync(context, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _finishedAt, time.GetTimestamp());
        }
    }
}
