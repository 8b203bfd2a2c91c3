using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Inference.TorchSharp;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Server benchmarks (issue 3, BENCHMARKS.md): indexing throughput against bare inference on the same model in the same
/// run, analyzeSequence latency and throughput under concurrent load over real loopback HTTP, and peak memory while
/// indexing two corpus sizes. Numbers are printed as Markdown, never asserted against a clock: they measure the machine.
/// Run: <c>ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Server.Tests -c Release --filter Category=Benchmark
/// --logger "console;verbosity=detailed"</c>. ESMC_BENCH_PROTEINS, ESMC_BENCH_MODEL (tiny|mid) and ESMC_BENCH_DEVICE
/// (e.g. cuda) change the workload.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Benchmark")]
public sealed class ServerBenchmarks(ITestOutputHelper output)
{
    /// <summary>Mid-size random ESMC: big enough that inference is real work, small enough for a CPU run in minutes.</summary>
    private static readonly DemoModelSize Mid = new("ESMC-bench-d320", 320, 5, 6, 4, 4096, 32);

    private static int Proteins => int.TryParse(Environment.GetEnvironmentVariable("ESMC_BENCH_PROTEINS"), out var n) && n > 0 ? n : 300;

    private static DemoModelSize Size => Environment.GetEnvironmentVariable("ESMC_BENCH_MODEL") switch
    {
        "tiny" => DemoModelSize.Tiny,
        "300m" => DemoModelSize.Esmc300M,
        _ => Mid,
    };

    private static string? Device => Environment.GetEnvironmentVariable("ESMC_BENCH_DEVICE");

    /// <summary>ESMC_BENCH_SILOS: cluster sizes to measure, comma-separated (default 1,2).</summary>
    private static int[] SiloCounts => (Environment.GetEnvironmentVariable("ESMC_BENCH_SILOS") ?? "1,2")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();

    /// <summary>ESMC_BENCH_MEMORY=0 skips the two memory runs (long with a large model).</summary>
    private static bool MeasureMemory => Environment.GetEnvironmentVariable("ESMC_BENCH_MEMORY") != "0";

    /// <summary>
    /// Random-weight checkpoints in the real formats, written once. ESMC-300M (1.8 GB) goes where the inference benchmark
    /// caches it (artifacts/bench-models, or ESMC_BENCH_MODEL_CACHE); the small ones under the temp folder.
    /// </summary>
    private static readonly Lazy<(string Root, string Sae)> Model = new(() =>
    {
        var root = Size == DemoModelSize.Esmc300M
            ? Environment.GetEnvironmentVariable("ESMC_BENCH_MODEL_CACHE") ?? Path.Combine(RepositoryRoot(), "artifacts", "bench-models")
            : Path.Combine(Path.GetTempPath(), "esmc-bench-models");
        var ids = DemoModel.Create(root, Size);
        return (root, ids[0]);
    });

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("EsmcFeaturePlatform.sln not found above the test binaries; set ESMC_BENCH_MODEL_CACHE.");
    }

    private static string F(double value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);

    private static Dictionary<string, string?> Settings(string root) => new()
    {
        ["Esmc:ModelRoot"] = root,
        ["Esmc:Storage:ConnectionString"] = TestStorage.ConnectionString,
        ["Esmc:Inference:Device"] = Device ?? "auto",
        ["Esmc:RateLimit:Enabled"] = "false",
        ["Esmc:Corpus:Roots:0"] = Path.GetTempPath(),   // the benchmark corpora are written there
        // Production indexing shape (SiloCluster's defaults are tiny batches and windows for the correctness tests).
        ["Esmc:Indexing:MaxBatchProteins"] = "32",
        ["Esmc:Indexing:PipelineDepth"] = "4",
        ["Esmc:Indexing:WindowBatches"] = "8",
        // ESMC_BENCH_WRITE_SHARE=0 measures fixed windows of 8 batches (the default grows them; IndexingOptions).
        ["Esmc:Indexing:TargetWriteShare"] = Environment.GetEnvironmentVariable("ESMC_BENCH_WRITE_SHARE") ?? "0.05",
    };

    /// <summary>Random proteins of 50..300 residues (fixed seed), written as FASTA.</summary>
    private static (string Path, string[] Sequences) WriteCorpus(int count, int seed)
    {
        const string alphabet = "ACDEFGHIKLMNPQRSTVWY";
        var random = new Random(seed);
        var sequences = Enumerable.Range(0, count)
            .Select(_ => new string(Enumerable.Range(0, random.Next(50, 301)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()))
            .ToArray();
        var path = Path.Combine(Path.GetTempPath(), $"esmc-bench-{seed}-{count}-{Guid.NewGuid():N}.fasta");
        File.WriteAllLines(path, sequences.SelectMany((s, i) => new[] { $">bench{seed}_{i:D6}", s }));
        return (path, sequences);
    }

    private static async Task<JobInfo> RunJobAsync(SiloCluster cluster, string sae, string path)
    {
        var id = JobKinds.NewIndexCorpusId();
        var grain = cluster.Grains.GetGrain<IIndexingJobGrain>(id);
        await grain.StartAsync(new IndexCorpusRequest(sae, path, 10, "bench"));
        while (true)
        {
            var info = await grain.GetInfoAsync();
            if (info is { Status: JobStatus.Completed or JobStatus.Failed }) return info;
            await Task.Delay(20);
        }
    }

    /// <summary>The encoder alone over the same corpus, in the job's batch shape and pipeline depth: the ceiling indexing is held to.</summary>
    private static async Task<TimeSpan> BareInferenceAsync(IFeatureEncoder encoder, string sae, string[] sequences, int batch, int depth)
    {
        var gate = new SemaphoreSlim(depth);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(sequences.Chunk(batch).Select(async chunk =>
        {
            await gate.WaitAsync();
            try { await encoder.EncodeAsync(sae, chunk); }
            finally { gate.Release(); }
        }));
        return clock.Elapsed;
    }

    [BenchmarkFact]
    public async Task Indexing_throughput_against_bare_inference_and_memory_over_two_corpus_sizes()
    {
        var (root, sae) = Model.Value;
        var table = new StringBuilder();
        output.WriteLine("Start: " + BenchmarkMachine.Describe());
        table.AppendLine($"Model {Size.ModelName} (d {Size.DModel}, {Size.Layers} layers, codebook {Size.CodebookSize}, k {Size.K}), device {Device ?? "auto"}, {Environment.ProcessorCount} cores");
        table.AppendLine();
        table.AppendLine("| silos | proteins | residues | bare inference (res/s) | indexing (res/s) | overhead | job wall (s) | active features |");
        table.AppendLine("|---|---|---|---|---|---|---|---|");
        var memory = new List<string>();

        foreach (var silos in SiloCounts)
        {
            await using var cluster = new SiloCluster(TestEnvironment.UniqueName("bench"), Settings(root));
            await cluster.StartSilosAsync(silos);
            var encoder = cluster.Silos[0].Host.Services.GetRequiredService<IFeatureEncoder>();

            // Warm-up: JIT, model load, grain activations, storage containers.
            var (warmPath, warm) = WriteCorpus(Size == DemoModelSize.Esmc300M ? 8 : 40, seed: 1000 + silos);
            await BareInferenceAsync(encoder, sae, warm, 32, 4);
            var warmJob = await RunJobAsync(cluster, sae, warmPath);
            Assert.True(warmJob.Status == JobStatus.Completed, $"warm-up job {warmJob.Status}: {warmJob.Error}");

            var (path, sequences) = WriteCorpus(Proteins, seed: 2000 + silos);
            var residues = sequences.Sum(s => s.Length);
            // Bare inference before and after the job, so drift in machine load shows up rather than biasing one side.
            var cpuBefore = CpuSeconds.Sample();
            var bareBefore = await BareInferenceAsync(encoder, sae, sequences, 32, 4);
            var cpuBare = CpuSeconds.Sample();
            var clock = Stopwatch.StartNew();
            var info = await RunJobAsync(cluster, sae, path);
            var indexing = clock.Elapsed;
            var cpuIndexing = CpuSeconds.Sample();
            Assert.True(info.Status == JobStatus.Completed, $"job {info.Status}: {info.Error}");
            var bareAfter = await BareInferenceAsync(encoder, sae, sequences, 32, 4);
            // Where the extra time goes: CPU seconds of this process (silos + torch) and of the storage emulator,
            // indexing minus the bare pass before it. On this machine Azurite shares the cores with torch; against
            // real Azure Storage the emulator's share is not paid by the silos at all.
            var silosExtra = (cpuIndexing.Process - cpuBare.Process) - (cpuBare.Process - cpuBefore.Process);
            var emulatorExtra = (cpuIndexing.Emulator - cpuBare.Emulator) - (cpuBare.Emulator - cpuBefore.Emulator);
            output.WriteLine($"silos {silos}: CPU s bare pass: process {F(cpuBare.Process - cpuBefore.Process, "0.0")}, emulator {F(cpuBare.Emulator - cpuBefore.Emulator, "0.0")}; " +
                $"indexing: process {F(cpuIndexing.Process - cpuBare.Process, "0.0")}, emulator {F(cpuIndexing.Emulator - cpuBare.Emulator, "0.0")}; " +
                $"extra CPU for indexing: silos {F(silosExtra, "0.0")} s, Azurite {F(emulatorExtra, "0.0")} s");
            var bare = TimeSpan.FromTicks((bareBefore.Ticks + bareAfter.Ticks) / 2);
            var overhead = (indexing.TotalSeconds - bare.TotalSeconds) / bare.TotalSeconds * 100;
            // Features that fired: each is written once per window it fired in, the job's main storage cost.
            var stats = await cluster.Grains.GetGrain<INormalizationStatsGrain>(sae).GetCorpusStatisticsAsync([.. Enumerable.Range(0, Size.CodebookSize)]);
            var active = stats.Features.Count(f => f.DocumentCount > 0);
            table.AppendLine($"| {silos} | {sequences.Length} | {residues} | {F(residues / bare.TotalSeconds)} | {F(residues / indexing.TotalSeconds)} | {F(overhead, "0.0")}% | {F(indexing.TotalSeconds, "0.00")} | {active} |");
            output.WriteLine($"silos {silos}: bare {bareBefore.TotalSeconds:0.00}s / {bareAfter.TotalSeconds:0.00}s, indexing {indexing.TotalSeconds:0.00}s");
        }

        // Peak memory: one fresh single-silo cluster per corpus size, sampled while the job runs.
        foreach (var count in MeasureMemory ? new[] { Proteins, Proteins * 3 } : [])
        {
            await using var cluster = new SiloCluster(TestEnvironment.UniqueName("benchmem"), Settings(root));
            await cluster.StartSilosAsync(1);
            var (warmPath, _) = WriteCorpus(40, seed: 3000 + count);
            await RunJobAsync(cluster, sae, warmPath);
            var (path, sequences) = WriteCorpus(count, seed: 4000 + count);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var process = Process.GetCurrentProcess();
            process.Refresh();
            var baseWorkingSet = process.WorkingSet64;
            var baseManaged = GC.GetTotalMemory(false);
            long peakWorkingSet = baseWorkingSet, peakManaged = baseManaged;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    process.Refresh();
                    peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
                    peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
                    try { await Task.Delay(10, sampling.Token); } catch (OperationCanceledException) { }
                }
            });
            var info = await RunJobAsync(cluster, sae, path);
            await sampling.CancelAsync();
            await sampler;
            Assert.Equal(JobStatus.Completed, info.Status);
            GC.Collect();
            var retained = GC.GetTotalMemory(true) - baseManaged;
            memory.Add($"| {count} | {sequences.Sum(s => s.Length)} | {F((peakWorkingSet - baseWorkingSet) / 1048576.0, "0.0")} | {F((peakManaged - baseManaged) / 1048576.0, "0.0")} | {F(retained / 1048576.0, "0.0")} |");
        }

        table.AppendLine();
        table.AppendLine("| corpus (proteins) | residues | peak working set growth (MiB) | peak managed heap growth (MiB) | managed heap retained after job (MiB) |");
        table.AppendLine("|---|---|---|---|---|");
        foreach (var line in memory) table.AppendLine(line);
        table.AppendLine();
        table.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(table.ToString());
    }

    [BenchmarkFact]
    public async Task AnalyzeSequence_latency_and_throughput_over_loopback_http()
    {
        var (root, sae) = Model.Value;
        await using var factory = new KestrelPlatform(root);
        factory.UseKestrel(LoopbackPorts.Free());
        factory.StartServer();
        var address = factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal)) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KestrelPlatform.ReaderKey);

        var query = "query($s: String!) { analyzeSequence(sae: \"" + sae + "\", sequence: $s, normalize: true) { length pooled { index value position } } }";
        var random = new Random(7);
        string NewSequence() => new([.. Enumerable.Range(0, 200).Select(_ => "ACDEFGHIKLMNPQRSTVWY"[random.Next(20)])]);
        async Task<double> CallAsync(string sequence)
        {
            var body = JsonSerializer.Serialize(new { query, variables = new { s = sequence } });
            var clock = Stopwatch.StartNew();
            using var response = await http.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            var elapsed = clock.Elapsed.TotalMilliseconds;
            var json = JsonNode.Parse(text)!;
            Assert.True(response.IsSuccessStatusCode && json["errors"] is null, text);
            return elapsed;
        }

        var cached = NewSequence();
        for (var i = 0; i < 20; i++) await CallAsync(i % 2 == 0 ? cached : NewSequence());   // warm-up: JIT, model, connections

        var table = new StringBuilder();
        table.AppendLine($"analyzeSequence, 200 residues, model {Size.ModelName}, device {Device ?? "auto"}, loopback HTTP/1.1 (Kestrel on 127.0.0.1)");
        table.AppendLine();
        table.AppendLine("| workload | clients | requests | p50 (ms) | p99 (ms) | throughput (req/s) |");
        table.AppendLine("|---|---|---|---|---|---|");
        foreach (var (name, clients, requests) in new[] { ("cached", 1, 500), ("cached", 16, 4000), ("uncached", 1, 60), ("uncached", 16, 320) })
        {
            var sequences = name == "cached" ? Enumerable.Repeat(cached, requests).ToArray() : Enumerable.Range(0, requests).Select(_ => NewSequence()).ToArray();
            var latencies = new double[requests];
            var next = -1;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests) latencies[i] = await CallAsync(sequences[i]);
            })));
            var wall = clock.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            table.AppendLine($"| {name} | {clients} | {requests} | {F(Percentile(latencies, 0.50), "0.0")} | {F(Percentile(latencies, 0.99), "0.0")} | {F(requests / wall)} |");
        }
        output.WriteLine(table.ToString());
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    /// <summary>The real all-in-one host over the benchmark model, on Kestrel (real sockets), rate limits off.</summary>
    private sealed class KestrelPlatform(string modelRoot) : WebApplicationFactory<Program>
    {
        public const string ReaderKey = "bench-reader-key";

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            TestEnvironment.EnsureAzurite();
            var name = TestEnvironment.UniqueName("benchhttp");
            builder.UseEnvironment(Environments.Production);
            var settings = new Dictionary<string, string?>(Settings(modelRoot))
            {
                ["Esmc:DataRoot"] = Path.Combine(Path.GetTempPath(), name),
                ["Esmc:Storage:Container"] = name,
                ["Esmc:Cluster:ClusterId"] = name,
                ["Esmc:Cluster:SiloPort"] = LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture),
                ["Esmc:Cluster:GatewayPort"] = LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture),
                ["Esmc:Auth:ApiKeys:bench:Key"] = ReaderKey,
                ["Esmc:Auth:ApiKeys:bench:Role"] = "reader",
                ["Logging:LogLevel:Default"] = "Warning",
            };
            foreach (var (key, value) in settings) if (value is not null) builder.UseSetting(key, value);
            builder.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        }
    }
}

/// <summary>CPU seconds used so far by this process and by the Azurite emulator process (found by its command line).</summary>
internal readonly record struct CpuSeconds(double Process, double Emulator)
{
    public static CpuSeconds Sample()
    {
        var self = System.Diagnostics.Process.GetCurrentProcess();
        self.Refresh();
        return new CpuSeconds(self.TotalProcessorTime.TotalSeconds, EmulatorSeconds());
    }

    /// <summary>utime + stime of every process whose command line names azurite (0 when none is visible, e.g. not Linux).</summary>
    private static double EmulatorSeconds()
    {
        if (!Directory.Exists("/proc")) return 0;
        var ticks = 0L;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
                if (!File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("azurite", StringComparison.Ordinal)) continue;
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return ticks / 100.0;   // USER_HZ is 100 on Linux
    }
}
