using System.Diagnostics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Telemetry;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Times every search against whichever <see cref="IFeatureIndex"/> the host chose (esmc.search.duration), so the
/// providers stay free of telemetry and the measurement is the same for both. Everything else passes through.
/// </summary>
internal sealed class TimedFeatureIndex(IFeatureIndex inner) : IFeatureIndex
{
    /// <summary>Wraps the index registered last (both providers register a factory); a no-op when there is none.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(IFeatureIndex));
        if (registered?.ImplementationFactory is not { } factory) return;
        services.Remove(registered);
        services.Add(ServiceDescriptor.Describe(typeof(IFeatureIndex), sp => new TimedFeatureIndex((IFeatureIndex)factory(sp)), registered.Lifetime));
    }

    public async Task<FeatureSearchResult> SearchAsync(FeatureSearchQuery query, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await inner.SearchAsync(query, ct);
        }
        finally
        {
            PlatformTelemetry.SearchDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    public Task UpsertAsync(IReadOnlyCollection<FeatureDocument> documents, CancellationToken ct = default) => inner.UpsertAsync(documents, ct);

    public Task DeleteSaeAsync(string saeId, CancellationToken ct = default) => inner.DeleteSaeAsync(saeId, ct);

    public Task RebuildAsync(IAsyncEnumerable<FeatureDocument> all, CancellationToken ct = default) => inner.RebuildAsync(all, ct);

    public Task<long> CountAsync(string? saeId = null, CancellationToken ct = default) => inner.CountAsync(saeId, ct);
}
