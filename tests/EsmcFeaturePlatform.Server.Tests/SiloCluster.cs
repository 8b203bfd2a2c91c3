using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Grains;
using EsmcFeaturePlatform.Server.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Real silos in this process, each built by the production host code (AddEsmcInference + AddEsmcSafety + AddEsmcOrleans), clustered
/// through Azure Table storage on Azurite so that any silo (not only a primary) can be stopped. A cluster's
/// state lives in its own blob container, so a new cluster over the same <see cref="StorageName"/> sees it again.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private readonly List<(IHost Host, BlockingObserver Observer)> _silos = [];
    private readonly Dictionary<string, string?> _settings;

    public string StorageName { get; }

    public SiloCluster(string storageName, IDictionary<string, string?>? extraSettings = null)
    {
        TestEnvironment.EnsureAzurite();
        StorageName = storageName;
        _settings = new Dictionary<string, string?>
        {
            ["Esmc:Role"] = "silo",
            ["Esmc:ModelRoot"] = TestEnvironment.ModelRoot,
            ["Esmc:DataRoot"] = Path.Combine(Path.GetTempPath(), storageName),
            ["Esmc:Storage:ConnectionString"] = TestStorage.ConnectionString,
            ["Esmc:Storage:Container"] = storageName,
            ["Esmc:Cluster:Provider"] = "AzureStorage",
            ["Esmc:Cluster:ClusterId"] = storageName,
            ["Esmc:Cluster:AdvertisedAddress"] = "127.0.0.1",
            // Small batches so a corpus of a few dozen proteins makes many batches, over both silos.
            ["Esmc:Indexing:MaxBatchProteins"] = "5",
            ["Esmc:Indexing:PipelineDepth"] = "3",
            // Windows of two batches: several windows per job, and a stop at batch 2 lands inside one (replayed on resume).
            ["Esmc:Indexing:WindowBatches"] = "2",
            ["Esmc:Indexing:WatchdogInterval"] = "00:00:00.500",
            ["Esmc:Corpus:Roots:0"] = TestEnvironment.CorpusRoot,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>()) _settings[key] = value;
    }

    public IReadOnlyList<(IHost Host, BlockingObserver Observer)> Silos => _silos;

    /// <summary>Extra or replaced services per silo (by start order), registered after the platform's own: e.g. a describer for describeFeatures jobs.</summary>
    public Action<int, IServiceCollection>? ConfigureSilo { get; init; }

    public IGrainFactory Grains => _silos[^1].Host.Services.GetRequiredService<IGrainFactory>();

    public async Task StartSilosAsync(int count, BlockingObserver.Plan? plan = null)
    {
        for (var i = 0; i < count; i++)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            var settings = new Dictionary<string, string?>(_settings)
            {
                ["Esmc:Cluster:SiloPort"] = LoopbackPorts.Free().ToString(),
                ["Esmc:Cluster:GatewayPort"] = LoopbackPorts.Free().ToString(),
            };
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.AddFilter(_ => false);
            var observer = new BlockingObserver(_silos.Count, plan);
            builder.Services.AddSingleton<IIndexingJobObserver>(observer);
            builder.AddEsmcInference();
            builder.AddEsmcSafety();
            builder.AddEsmcOrleans();
            ConfigureSilo?.Invoke(_silos.Count, builder.Services);
            var host = builder.Build();
            await host.StartAsync();
            _silos.Add((host, observer));
        }
    }

    public async Task StopSiloAsync(int index)
    {
        var (host, _) = _silos[index];
        await host.StopAsync();
        host.Dispose();
        _silos.RemoveAt(index);
    }

    public async Task StopAllAsync()
    {
        while (_silos.Count > 0) await StopSiloAsync(_silos.Count - 1);
    }

    public async Task<JobInfo> WaitForJobAsync(string jobId)
    {
        // A bound so that a broken job fails the test instead of hanging it; not a performance threshold.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var info = await Grains.GetGrain<IIndexingJobGrain>(jobId).GetInfoAsync();
            if (info is { Status: JobStatus.Completed or JobStatus.Failed }) return info;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {jobId} did not finish: {info}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync() => await StopAllAsync();
}

/// <summary>
/// Lets a test hold an indexing job at the worst moment: after a batch's feature writes, before the job commits it.
/// One instance per silo; all share the plan, which blocks once.
/// </summary>
public sealed class BlockingObserver(int siloIndex, BlockingObserver.Plan? plan) : IIndexingJobObserver
{
    public sealed class Plan(int batchNumber)
    {
        public int BatchNumber { get; } = batchNumber;
        public TaskCompletionSource<int> Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _used;
        public bool TryUse() => Interlocked.Exchange(ref _used, 1) == 0;
    }

    public async ValueTask BatchWrittenAsync(string jobId, int batchNumber, CancellationToken cancellationToken)
    {
        if (plan is null || batchNumber != plan.BatchNumber || !plan.TryUse()) return;
        plan.Reached.TrySetResult(siloIndex);
        await Task.Delay(Timeout.Infinite, cancellationToken);   // until this silo stops and the job is deactivated
    }
}
