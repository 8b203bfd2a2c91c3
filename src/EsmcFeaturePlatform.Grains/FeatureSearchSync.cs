using System.Collections.Concurrent;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Told by feature grains (descriptions) and feature pages (statistics, examples) that a feature changed. Must not block.</summary>
public interface IFeatureChangeNotifier
{
    void FeatureChanged(FeatureKey key);
}

/// <summary>Silos without a search index (e.g. tests of indexing alone) ignore changes.</summary>
internal sealed class NoFeatureChangeNotifier : IFeatureChangeNotifier
{
    public void FeatureChanged(FeatureKey key) { }
}

/// <summary>Section <c>Esmc:Search:Sync</c>.</summary>
public sealed class SearchSyncOptions
{
    public const string SectionName = "Esmc:Search:Sync";

    /// <summary>How often changed features are re-indexed; contracts.md wants a change searchable within a few seconds.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Features re-read and upserted per index call.</summary>
    public int MaxBatch { get; set; } = 512;

    public void Validate()
    {
        if (FlushInterval <= TimeSpan.Zero) throw new ArgumentException($"{SectionName}:FlushInterval must be positive.");
        if (MaxBatch < 1) throw new ArgumentException($"{SectionName}:MaxBatch must be positive.");
    }
}

/// <summary>
/// Keeps the search index in step with the feature grains and pages of this silo. Indexing a corpus touches every
/// active feature once per window; upserting synchronously there would cost one index write per feature per window.
/// Instead the keys are coalesced in a set and a background loop re-reads each changed feature once per flush
/// interval and upserts whole documents in batches. A flush that fails keeps its keys for the next one; anything lost with a
/// crashed silo is restored by rebuildSearchIndex.
/// </summary>
public sealed class FeatureSearchSync(IFeatureReader reader, IFeatureIndex index, IOptions<SearchSyncOptions> options, ILogger<FeatureSearchSync> logger)
    : BackgroundService, IFeatureChangeNotifier
{
    private readonly ConcurrentDictionary<FeatureKey, byte> _dirty = new();

    public void FeatureChanged(FeatureKey key) => _dirty.TryAdd(key, 0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    /// <summary>Indexes every feature changed so far; returns how many documents were written.</summary>
    public async Task<int> FlushAsync(CancellationToken ct)
    {
        var written = 0;
        while (!_dirty.IsEmpty)
        {
            var keys = _dirty.Keys.Take(options.Value.MaxBatch).ToList();
            foreach (var key in keys) _dirty.TryRemove(key, out _);
            try
            {
                var documents = await reader.DocumentsAsync(keys);
                if (documents.Count > 0) await index.UpsertAsync(documents, ct);
                written += documents.Count;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                foreach (var key in keys) _dirty.TryAdd(key, 0);
                logger.LogWarning(ex, "Search sync of {Count} feature(s) failed; retrying next flush", keys.Count);
                return written;
            }
        }
        return written;
    }
}
