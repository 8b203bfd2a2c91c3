using System.Collections.Concurrent;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Agents;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>A describeFeatures job on a real 2-silo cluster over Azurite survives losing the silo that runs it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterDescribeTests
{
    private const int Codebook = 64;

    [Fact]
    public async Task Stopping_the_silo_in_the_middle_of_a_describe_job_still_describes_every_feature_exactly_once()
    {
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 21);
        var probe = new DescriberProbe(holdAtCall: 10);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("describe"), new Dictionary<string, string?>
        {
            ["Esmc:Describe:ChunkSize"] = "4",
            ["Esmc:Describe:MaxConcurrency"] = "2",
            ["Esmc:Describe:NonActivatingPool"] = "8",
        })
        {
            // The real offline describer, watched: the probe holds one call so the stop lands mid-chunk.
            ConfigureSilo = (silo, services) => services.AddSingleton<IFeatureDescriber>(new ProbedDescriber(new EvidenceOnlyDescriber(), silo, probe)),
        };
        await cluster.StartSilosAsync(2);

        var indexing = JobKinds.NewIndexCorpusId();
        await cluster.Grains.GetGrain<IIndexingJobGrain>(indexing).StartAsync(new IndexCorpusRequest(TestEnvironment.SaeWithRealStats, path, 5, "test"));
        Assert.Equal(JobStatus.Completed, (await cluster.WaitForJobAsync(indexing)).Status);

        var jobId = JobKinds.NewDescribeFeaturesId();
        await cluster.Grains.GetGrain<IDescribeJobGrain>(jobId).StartAsync(new DescribeFeaturesRequest(TestEnvironment.SaeWithRealStats, null, Codebook, "test"));
        var siloHoldingTheJob = await probe.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var midway = await cluster.Grains.GetGrain<IDescribeJobGrain>(jobId).GetInfoAsync();
        Assert.Equal(JobStatus.Running, midway!.Status);
        Assert.True(midway.Processed < Codebook, $"processed {midway.Processed}");

        await cluster.StopSiloAsync(siloHoldingTheJob);
        probe.Release();
        var info = await WaitForDescribeJobAsync(cluster, jobId);
        Assert.True(info.Status == JobStatus.Completed, $"{info.Status}: {info.Error}");
        Assert.Equal(Codebook, info.Processed);

        // Every feature that fired has exactly one generated version; features that never fired have none.
        var active = 0;
        for (var index = 0; index < Codebook; index++)
        {
            var feature = cluster.Grains.GetGrain<IFeatureGrain>(new FeatureKey(TestEnvironment.SaeWithRealStats, index).ToString());
            var summary = await feature.GetSummaryAsync();
            var versions = await feature.GetDescriptionsAsync();
            if (summary.DocumentCount == 0)
            {
                Assert.Empty(versions);
                continue;
            }
            active++;
            var version = Assert.Single(versions);
            Assert.Equal(DescriptionSource.Evidence, version.Source);
            Assert.Equal(1, version.Version);
        }
        Assert.True(active > 4, $"only {active} features fired; the test needs several chunks of real work");
        Assert.True(probe.Calls.Count > active, "the stopped silo's chunk must have been redone after the stop");
    }

    private static async Task<JobInfo> WaitForDescribeJobAsync(SiloCluster cluster, string jobId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);   // guards against a hang; not a performance threshold
        while (true)
        {
            var info = await cluster.Grains.GetGrain<IDescribeJobGrain>(jobId).GetInfoAsync();
            if (info is { Status: JobStatus.Completed or JobStatus.Failed }) return info;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {jobId} did not finish: {info}");
            await Task.Delay(100);
        }
    }

    /// <summary>Counts describe calls over the whole cluster and holds the n-th until released (or cancelled by the silo's stop).</summary>
    private sealed class DescriberProbe(int holdAtCall)
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<int> Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ConcurrentQueue<(int Silo, int Feature)> Calls { get; } = new();

        public async Task OnCallAsync(int silo, int feature, CancellationToken ct)
        {
            Calls.Enqueue((silo, feature));
            if (Calls.Count != holdAtCall) return;
            Reached.TrySetResult(silo);
            await _release.Task.WaitAsync(ct);
        }

        public void Release() => _release.TrySetResult();
    }

    private sealed class ProbedDescriber(IFeatureDescriber inner, int silo, DescriberProbe probe) : IFeatureDescriber
    {
        public bool UsesLanguageModel => inner.UsesLanguageModel;

        public async Task<DescriptionResult> DescribeAsync(FeatureEvidence evidence, CancellationToken ct = default)
        {
            await probe.OnCallAsync(silo, evidence.Feature.Index, ct);
            return await inner.DescribeAsync(evidence, ct);
        }
    }
}
