using Azure.Core.Pipeline;
using Azure.Data.Tables;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Grains;
using EsmcFeaturePlatform.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Issue 16: storage faults injected into the real storage clients of a real cluster on Azurite (StorageFaults), each
/// ending with a restart of the cluster that reads only storage and must give exactly the single-process statistics.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageFaultTests
{
    private static SiloCluster FaultyCluster(string prefix, StorageFaults faults, IDictionary<string, string?>? settings = null) =>
        new(TestEnvironment.UniqueName(prefix), settings)
        {
            ConfigureSilo = (_, services) => services.AddSingleton<HttpPipelinePolicy>(faults),
        };

    /// <summary>A cluster over the same storage without faults: what survives is what storage holds.</summary>
    private static async Task AssertExactAfterRestartAsync(string storageName, ExpectedCorpus expected)
    {
        await using var restarted = new SiloCluster(storageName);
        await restarted.StartSilosAsync(1);
        ClusterIndexingTests.AssertMatches(expected, await ClusterIndexingTests.SnapshotAsync(restarted));
    }

    /// <summary>A match that is true for the <paramref name="nth"/> request (1-based) that <paramref name="match"/> accepts.</summary>
    private static Func<StorageRequest, bool> Nth(Func<StorageRequest, bool> match, int nth)
    {
        var seen = 0;
        return r => match(r) && Interlocked.Increment(ref seen) == nth;
    }

    [Fact]
    public async Task A_refused_statistics_write_is_applied_again_on_retry_and_a_restart_reads_exact_statistics()
    {
        // Finding 1: the statistics grain's second write is refused (503 past the client's retries). The job retries the
        // window; the activation that applied it only in memory must be gone, or the retry is skipped as a replay.
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 161);
        var expected = await ClusterIndexingTests.ExpectAsync(records);
        var faults = new StorageFaults().Refuse(Nth(r => r.IsStateWrite("normalizationstats"), 2), times: 1);
        await using (var cluster = FaultyCluster("f1", faults))
        {
            await cluster.StartSilosAsync(1);
            var info = await cluster.WaitForJobAsync(await ClusterIndexingTests.StartJobAsync(cluster, path));
            Assert.Equal(JobStatus.Completed, info.Status);
            Assert.Equal(1, faults.Injected);
            await cluster.StopAllAsync();
            await AssertExactAfterRestartAsync(cluster.StorageName, expected);
        }
    }

    [Fact]
    public async Task Answers_lost_after_successful_writes_change_nothing()
    {
        // Storage applied each of these writes and the answer was lost: the retry meets the stored state (a new ETag, a
        // claimed row) and must neither apply a window twice nor lose one.
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 162);
        var expected = await ClusterIndexingTests.ExpectAsync(records);
        var faults = new StorageFaults()
            .DropAnswers(Nth(r => r.IsStateWrite("normalizationstats"), 1), times: 1)
            .DropAnswers(Nth(r => r.IsStateWrite("featurepage"), 2), times: 1)
            .DropAnswers(Nth(r => r.IsStateWrite("indexingjob"), 4), times: 1)
            .DropAnswers(Nth(r => r.IsClaimTransaction, 5), times: 1);
        await using var cluster = FaultyCluster("f1b", faults);
        await cluster.StartSilosAsync(2);
        var info = await cluster.WaitForJobAsync(await ClusterIndexingTests.StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Completed, info.Status);
        Assert.Equal(records.Count, info.Processed);
        Assert.Equal(4, faults.Injected);
        await cluster.StopAllAsync();
        await AssertExactAfterRestartAsync(cluster.StorageName, expected);
    }

    public static TheoryData<string> OutagePoints => ["claim", "window write", "job state write"];

    [Theory]
    [MemberData(nameof(OutagePoints))]
    public async Task A_storage_outage_makes_the_job_wait_for_storage_and_never_fail(string point)
    {
        // Finding 2: storage goes away when a claim (or a window write, or the job's own state write) starts, and stays
        // away past the storage client's retries and the job's (none here) until the job says it is waiting for storage.
        // Then storage comes back: the job must resume and be exact, never FAILED.
        Func<StorageRequest, bool> trigger = point switch
        {
            "claim" => Nth(r => r.IsClaimTransaction, 3),
            "window write" => Nth(r => r.IsStateWrite("featurepage"), 2),
            _ => Nth(r => r.IsStateWrite("indexingjob"), 4),
        };
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 163);
        var expected = await ClusterIndexingTests.ExpectAsync(records);
        var faults = new StorageFaults().OutageOnFirst(trigger);
        await using var cluster = FaultyCluster("f2", faults, new Dictionary<string, string?> { ["Esmc:Indexing:TransientRetries"] = "0" });
        await cluster.StartSilosAsync(1);
        var jobId = await ClusterIndexingTests.StartJobAsync(cluster, path);
        var job = cluster.Grains.GetGrain<IIndexingJobGrain>(jobId);
        // Bounds so a broken job fails the test instead of hanging it; not performance thresholds.
        var deadline = DateTime.UtcNow.AddMinutes(3);
        JobInfo? info;
        while ((info = await job.GetInfoAsync())!.Waiting is null && info.Status is JobStatus.Queued or JobStatus.Running && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(faults.InOutage, "the outage never started");
        Assert.Equal(JobStatus.Running, info.Status);
        Assert.StartsWith("waiting for storage since ", info.Waiting);
        Assert.True(info.Waiting!.Contains("Connection refused", StringComparison.Ordinal), info.Waiting);

        faults.EndOutage();
        info = await cluster.WaitForJobAsync(jobId);
        Assert.True(info.Status == JobStatus.Completed, $"{info.Status}: {info.Error}");
        Assert.Null(info.Waiting);
        Assert.Equal(records.Count, info.Processed);
        await cluster.StopAllAsync();
        await AssertExactAfterRestartAsync(cluster.StorageName, expected);
    }

    [Fact]
    public async Task A_job_failing_after_some_shards_stored_a_batch_releases_them_and_reindexing_is_exact()
    {
        // Finding 3: a batch's claim succeeds on some shards and is refused for good (403) on another, so the job fails.
        // Every row the batch stored must be released, or every later job skips those proteins as someone else's.
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 164);
        var expected = await ClusterIndexingTests.ExpectAsync(records);
        var faults = new StorageFaults().Refuse(Nth(r => r.IsClaimTransaction, 2), times: 1, status: 403);
        await using var cluster = FaultyCluster("f3", faults);
        await cluster.StartSilosAsync(1);
        var failed = await cluster.WaitForJobAsync(await ClusterIndexingTests.StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Contains("403", failed.Error);   // storage refused for good: the job says so (no bad input)

        var again = await cluster.WaitForJobAsync(await ClusterIndexingTests.StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Completed, again.Status);
        await cluster.StopAllAsync();
        await AssertExactAfterRestartAsync(cluster.StorageName, expected);
    }

    [Fact]
    public async Task Rows_claimed_by_a_dead_job_are_taken_over()
    {
        // Rows left by a job that is gone (claimed, never counted, never released, e.g. by an earlier version's failed
        // job): the next job takes them over instead of skipping them as someone else's. Rows of a live job are not.
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 165);
        var expected = await ClusterIndexingTests.ExpectAsync(records);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("dead"));
        await cluster.StartSilosAsync(1);
        var corpus = new CorpusTable(new TableServiceClient(TestStorage.ConnectionString), CorpusTable.TableNameFor(cluster.StorageName));
        var deadKey = $"{JobKinds.NewIndexCorpusId()}:0";
        foreach (var shard in records.Take(9).GroupBy(r => CorpusSharding.ShardOf(r.Id)))
        {
            var proteins = shard.Select(r => new IndexedProtein(r.Id, r.Sequence, null, [], [])).ToList();
            Assert.Equal(proteins.Count, (await corpus.ClaimAsync(CorpusTable.PartitionKey(TestEnvironment.SaeWithRealStats, shard.Key), deadKey, proteins)).Length);
        }

        var info = await cluster.WaitForJobAsync(await ClusterIndexingTests.StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Completed, info.Status);
        await cluster.StopAllAsync();
        await AssertExactAfterRestartAsync(cluster.StorageName, expected);
    }
}
