using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace EsmcFeaturePlatform.Abstractions.Caching;

/// <summary>
/// A thread-safe, string-keyed cache bounded by entry count that starts over (empties itself) when full: no
/// bookkeeping on a hit, and the entries in use come back at once. For memoizing pure work (parsed queries, validated
/// documents, search results of one index reader) where a miss only costs recomputing.
/// </summary>
public sealed class StartOverCache<TValue>(int capacity)
{
    private readonly ConcurrentDictionary<string, TValue> entries = new(StringComparer.Ordinal);
    // ConcurrentDictionary.Count takes every lock of the dictionary, so the size is counted here instead.
    private int count;

    /// <summary>The cached value of <paramref name="key"/>, when there is one.</summary>
    public bool TryGet(string key, [MaybeNullWhen(false)] out TValue value) => entries.TryGetValue(key, out value);

    /// <summary>Caches <paramref name="value"/> under <paramref name="key"/> (a key already present keeps its value); past the capacity the cache starts over.</summary>
    public void Add(string key, TValue value)
    {
        if (!entries.TryAdd(key, value) || Interlocked.Increment(ref count) <= capacity) return;
        Interlocked.Exchange(ref count, 0);
        entries.Clear();
    }
}
