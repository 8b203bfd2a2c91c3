using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Grains;
using EsmcFeaturePlatform.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Issue 16, finding 4 (opt-in: ESMC_RUN_BENCHMARKS=1): a stream of distinct sequences through the analysis grains of a
/// real silo for ESMC_SOAK_MINUTES (default 10), sampling the process's memory, the cache and the live analysis
/// activations every ESMC_SOAK_SAMPLE_SECONDS (30). Memory must reach a plateau: the cache is bounded by bytes
/// (Esmc:AnalysisCache:MaxMegabytes, ESMC_SOAK_CACHE_MB here, default 8 so that a run on a slow machine reaches the bound) and the
/// activations age out. Each sample also forces a full compacting collection and records the heap after it: the live
/// data, which is what must level off (the heap before it counts garbage not yet collected as well).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AnalysisCacheSoakBenchmark(ITestOutputHelper output)
{
    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    [BenchmarkFact]
    public async Task Memory_under_a_stream_of_distinct_sequences_reaches_a_plateau()
    {
        var minutes = Setting("ESMC_SOAK_MINUTES", 10);
        var sampleEvery = TimeSpan.FromSeconds(Setting("ESMC_SOAK_SAMPLE_SECONDS", 30));
        var cacheMb = Setting("ESMC_SOAK_CACHE_MB", 8);
        const int Callers = 8, Length = 200;
        output.WriteLine("Start: " + BenchmarkMachine.Describe());
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("soak"), new Dictionary<string, string?>
        {
            ["Esmc:AnalysisCache:MaxMegabytes"] = cacheMb.ToString(CultureInfo.InvariantCulture),
        });
        await cluster.StartSilosAsync(1);
        var services = cluster.Silos[0].Host.Services;
        var cache = services.GetRequiredService<AnalysisCache>();
        var grains = cluster.Grains;
        var management = grains.GetGrain<IManagementGrain>(0);
        const string Sae = TestEnvironment.SaeWithRealStats;

        long requests = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(minutes));
        var callers = Enumerable.Range(0, Callers).Select(c => Task.Run(async () =>
        {
            var random = new Random(1000 + c);
            var residues = new char[Length];
            while (!stop.IsCancellationRequested)
            {
                for (var i = 0; i < Length; i++) residues[i] = "ACDEFGHIKLMNPQRSTVWY"[random.Next(20)];
                var sequence = new string(residues);
                var outcome = await grains.GetGrain<IAnalysisGrain>(AnalysisKeys.For(Sae, sequence)).AnalyzeAsync(sequence);
                Assert.Equal(EncodeFailure.None, outcome.Failure);
                Interlocked.Increment(ref requests);
            }
        })).ToList();

        var table = new StringBuilder();
        table.AppendLine($"Tiny model, {Length}-residue random sequences, {Callers} concurrent callers, 1 silo in the test process, cache bound {cacheMb} MB, MaxAge default (10 min), analysis activations collected after 2 min idle");
        table.AppendLine();
        table.AppendLine("| minute | distinct sequences | working set (MB) | GC heap (MB) | gen2 GCs | live heap after full GC (MB) | cache (MB) | cache entries | analysis activations |");
        table.AppendLine("|---|---|---|---|---|---|---|---|---|");
        var clock = Stopwatch.StartNew();
        async Task SampleAsync()
        {
            string activations;
            try
            {
                var stats = await management.GetSimpleGrainStatistics();
                activations = stats.Where(s => s.GrainType.Contains(nameof(AnalysisGrain), StringComparison.Ordinal)).Sum(s => s.ActivationCount).ToString(CultureInfo.InvariantCulture);
            }
            catch (TimeoutException)
            {
                activations = "n/a (statistics timed out)";   // a loaded machine: the sample still counts
            }
            using var process = Process.GetCurrentProcess();
            // Before the forced collection: what the process holds as it runs (gen2 GCs: the runtime's own plus the
            // forced ones of earlier samples). Then a full blocking compacting collection (the large object heap too)
            // leaves only live data in the heap.
            var workingSet = process.WorkingSet64;
            var heap = GC.GetGCMemoryInfo().HeapSizeBytes;
            var gen2 = GC.CollectionCount(2);
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            var live = GC.GetGCMemoryInfo(GCKind.FullBlocking).HeapSizeBytes;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"| {clock.Elapsed.TotalMinutes:F1} | {Interlocked.Read(ref requests)} | {workingSet / 1048576.0:F0} | {heap / 1048576.0:F0} | {gen2} | {live / 1048576.0:F1} | {cache.Bytes / 1048576.0:F1} | {cache.Count} | {activations} |");
            table.AppendLine(line);
            output.WriteLine(line);
        }
        while (!stop.IsCancellationRequested)
        {
            await SampleAsync();
            try { await Task.Delay(sampleEvery, stop.Token); } catch (OperationCanceledException) { }
        }
        await Task.WhenAll(callers);
        await SampleAsync();
        Assert.True(cache.Bytes <= cacheMb * 1048576L, $"cache {cache.Bytes} bytes over its bound");
        output.WriteLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(table.ToString());
        var file = Path.Combine(AppContext.BaseDirectory, "analysis-cache-soak.md");
        await File.WriteAllTextAsync(file, table.ToString());
        output.WriteLine("Written to " + file);
    }
}
