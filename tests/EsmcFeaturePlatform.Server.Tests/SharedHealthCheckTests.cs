using EsmcFeaturePlatform.Server.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// /healthz needs no key and is not rate-limited, so each check's probe is shared: concurrent calls wait for one probe,
/// calls within a second of it reuse its answer, and a later call probes again (the end-to-end /healthz tests, such as
/// the pull-on-start test, see the transitions through it).
/// </summary>
public sealed class SharedHealthCheckTests
{
    [Fact]
    public async Task Concurrent_and_recent_calls_share_one_probe_and_a_stale_answer_is_probed_again()
    {
        var inner = new CountingCheck();
        var clock = new ManualClock();
        var shared = new SharedHealthCheck(inner, clock);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("storage", inner, null, null) };

        var calls = Enumerable.Range(0, 20).Select(_ => shared.CheckHealthAsync(context)).ToList();
        inner.Release.SetResult();
        var results = await Task.WhenAll(calls);
        Assert.Equal(1, inner.Probes);
        Assert.All(results, r => Assert.Equal("probe 1", r.Description));

        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("probe 1", (await shared.CheckHealthAsync(context)).Description);
        Assert.Equal(1, inner.Probes);

        clock.Advance(SharedHealthCheck.Fresh);
        Assert.Equal("probe 2", (await shared.CheckHealthAsync(context)).Description);
        Assert.Equal(2, inner.Probes);
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_cancel_the_probe_others_wait_for()
    {
        var inner = new CountingCheck();
        var shared = new SharedHealthCheck(inner, new ManualClock());
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("cluster", inner, null, null) };
        using var impatient = new CancellationTokenSource();

        var gaveUp = shared.CheckHealthAsync(context, impatient.Token);
        var waiting = shared.CheckHealthAsync(context);
        impatient.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);
        inner.Release.SetResult();
        Assert.Equal(HealthStatus.Healthy, (await waiting).Status);
        Assert.Equal(1, inner.Probes);
    }

    private sealed class CountingCheck : IHealthCheck
    {
        private int _probes;

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Probes => Volatile.Read(ref _probes);

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var probe = Interlocked.Increment(ref _probes);
            if (probe == 1) await Release.Task;
            return HealthCheckResult.Healthy($"probe {probe}");
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
