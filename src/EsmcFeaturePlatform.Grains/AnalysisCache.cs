using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// The silo's cache of analyses (raw features of one sequence under one SAE), bounded by estimated bytes and aging
/// out: least recently used first when over <see cref="AnalysisCacheOptions.MaxMegabytes"/>, and anything unused for
/// <see cref="AnalysisCacheOptions.MaxAge"/>. It replaces keeping each analysis in its grain for the activation's
/// life, which grew without bound under a stream of distinct sequences (one activation per sequence).
/// </summary>
public sealed class AnalysisCache : IDisposable
{
    private sealed record Entry(string Key, EncodeOutcome Outcome, long Bytes)
    {
        public long LastUsedTicks;
    }

    private readonly object _gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recency = new();   // most recently used first
    private readonly long _maxBytes;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _clock;
    private readonly ITimer _sweeper;
    private long _bytes;

    public AnalysisCache(IOptions<AnalysisCacheOptions> options, TimeProvider? clock = null)
    {
        _maxBytes = (long)options.Value.MaxMegabytes * 1024 * 1024;
        _maxAge = options.Value.MaxAge;
        _clock = clock ?? TimeProvider.System;
        // Entries age out even when nobody asks for anything (a burst followed by silence).
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, _maxAge.Ticks / 4));
        _sweeper = _clock.CreateTimer(_ => Sweep(), null, period, period);
    }

    /// <summary>Estimated bytes held now.</summary>
    public long Bytes { get { lock (_gate) return _bytes; } }

    public int Count { get { lock (_gate) return _byKey.Count; } }

    public bool TryGet(string key, out EncodeOutcome outcome)
    {
        lock (_gate)
        {
            var now = _clock.GetTimestamp();
            DropExpired(now);
            if (_byKey.TryGetValue(key, out var node))
            {
                node.Value.LastUsedTicks = now;
                _recency.Remove(node);
                _recency.AddFirst(node);
                outcome = node.Value.Outcome;
                return true;
            }
        }
        outcome = null!;
        return false;
    }

    public void Add(string key, EncodeOutcome outcome)
    {
        var bytes = EstimateBytes(key, outcome);
        if (bytes > _maxBytes) return;   // larger than the whole cache (or the cache is off)
        lock (_gate)
        {
            if (_byKey.Remove(key, out var old)) Remove(old);
            var node = _recency.AddFirst(new Entry(key, outcome, bytes) { LastUsedTicks = _clock.GetTimestamp() });
            _byKey[key] = node;
            _bytes += bytes;
            while (_bytes > _maxBytes && _recency.Last is { } last)
            {
                _byKey.Remove(last.Value.Key);
                Remove(last);
            }
        }
    }

    private void Sweep()
    {
        lock (_gate) DropExpired(_clock.GetTimestamp());
    }

    private void DropExpired(long now)
    {
        while (_recency.Last is { } last && _clock.GetElapsedTime(last.Value.LastUsedTicks, now) >= _maxAge)
        {
            _byKey.Remove(last.Value.Key);
            Remove(last);
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _recency.Remove(node);
        _bytes -= node.Value.Bytes;
    }

    /// <summary>
    /// Managed bytes an outcome holds, estimated from its arrays (object headers included): per residue an array of
    /// (index, value) pairs, the pooled features, and the key and bookkeeping.
    /// </summary>
    public static long EstimateBytes(string key, EncodeOutcome outcome)
    {
        const int ArrayHeader = 24, ObjectHeader = 16, Reference = 8;
        long bytes = 2L * key.Length + 160 + ArrayHeader + ObjectHeader;   // key, dictionary and list nodes, entry
        foreach (var sequence in outcome.Results)
        {
            bytes += ObjectHeader + 48 + 2L * sequence.SaeId.Length + ArrayHeader + ArrayHeader;
            foreach (var residue in sequence.Residues) bytes += Reference + ArrayHeader + 8L * residue.Length;
            bytes += 12L * sequence.Pooled.Length;
        }
        return bytes;
    }

    public void Dispose() => _sweeper.Dispose();
}
