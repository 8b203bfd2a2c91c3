using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Grains;
using Microsoft.Extensions.Options;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>Issue 16, finding 4: the analysis cache is bounded by bytes and ages out.</summary>
public sealed class AnalysisCacheTests
{
    /// <summary>A clock the test moves by hand (its timers never fire: the cache also ages entries out on every access).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;
        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
        public override long GetTimestamp() => Interlocked.Read(ref _ticks);
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NoTimer();
        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private static EncodeOutcome Outcome(int residues, int k = 4) => new(
        [new EncodedSequence("sae", residues, [.. Enumerable.Range(0, residues).Select(r => Enumerable.Range(0, k).Select(j => new FeatureActivation(j, r + j)).ToArray())],
            [new PooledActivation(0, 1f, 1)], 0)], EncodeFailure.None, null);

    private static AnalysisCache Cache(int megabytes, TimeSpan maxAge, TimeProvider clock) =>
        new(Options.Create(new AnalysisCacheOptions { MaxMegabytes = megabytes, MaxAge = maxAge }), clock);

    [Fact]
    public void Bytes_stay_under_the_bound_and_the_least_recently_used_go_first()
    {
        var clock = new ManualClock();
        using var cache = Cache(1, TimeSpan.FromHours(1), clock);
        var one = AnalysisCache.EstimateBytes("k0", Outcome(500));
        Assert.InRange(one, 500 * (24 + 8 + 32), 500 * (24 + 8 + 32) + 1024);   // arrays of 4 (index, value) pairs per residue
        var fits = (int)(1024 * 1024 / one);
        for (var i = 0; i < fits; i++) cache.Add($"k{i}", Outcome(500));
        Assert.Equal(fits, cache.Count);
        Assert.True(cache.TryGet("k0", out _));   // k0 used again: k1 is now the least recently used
        cache.Add("one more", Outcome(500));
        Assert.True(cache.TryGet("k0", out _));
        Assert.False(cache.TryGet("k1", out _));
        for (var i = 0; i < 3 * fits; i++)
        {
            cache.Add($"stream{i}", Outcome(500));
            Assert.True(cache.Bytes <= 1024 * 1024, $"{cache.Bytes} bytes after {i + 1} adds");
        }
        Assert.Equal(fits, cache.Count);
        Assert.True(cache.TryGet($"stream{3 * fits - 1}", out _));
    }

    [Fact]
    public void Analyses_unused_for_MaxAge_are_dropped()
    {
        var clock = new ManualClock();
        using var cache = Cache(16, TimeSpan.FromMinutes(10), clock);
        cache.Add("old", Outcome(10));
        clock.Advance(TimeSpan.FromMinutes(6));
        cache.Add("young", Outcome(10));
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False(cache.TryGet("old", out _));
        Assert.True(cache.TryGet("young", out _));
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.False(cache.TryGet("young", out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void A_zero_bound_turns_the_cache_off()
    {
        using var cache = Cache(0, TimeSpan.FromMinutes(1), new ManualClock());
        cache.Add("k", Outcome(3));
        Assert.False(cache.TryGet("k", out _));
    }
}
