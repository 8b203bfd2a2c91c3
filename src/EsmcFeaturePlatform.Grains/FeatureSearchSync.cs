using System.Collections.Concurrent;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Grains;

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
