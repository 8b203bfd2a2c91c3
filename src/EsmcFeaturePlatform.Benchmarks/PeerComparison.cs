using System.Diagnostics;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>
/// Our engine against the PyTorch peer (issue 18): same weights, same batches (BatchPlanner), alternated
/// workload by workload and round by round (the order flips every round), medians reported. CPU-seconds per
/// residue is the headline because it barely moves with other processes' load; wall time is shown beside it.
/// </summary>
internal sealed class PeerComparison(BenchmarkOptions options, DemoModelSize size, string modelDir, string saeRepoDir)
{
    // Matmuls per ceiling reading (2048^3, about 0.15 CPU-seconds each): enough for a median, short beside a workload.
    private const int CeilingRepeats = 7;
    private const string LibtorchCeiling = "libtorch mm via TorchSharp (ours)";
    private const string PackedCeiling = "MKL packed product in libtorch (ours; cblas_sgemm_compute, packing not timed)";
    private const string PeerCeiling = "PyTorch peer torch.matmul";

    private readonly Random _random = new(20261202);

    public void Run(Action<string> line)
    {
        var unavailable = PytorchPeer.Unavailable(options.PeerPython);
        if (unavailable is not null)
        {
            line($"PyTorch peer skipped: {unavailable}. Our engine is measured alone.");
            line("");
        }

        using var peer = unavailable is null ? PytorchPeer.Start(options.PeerPython, options.Threads) : null;
        var peerInfo = peer?.Send(new
        {
            cmd = "load",
            model_dir = Path.GetFullPath(modelDir),
            sae_file = Path.GetFullPath(Inference.TorchSharp.Checkpoints.SaeCheckpoint.LayerFilePath(saeRepoDir, size.SaeLayer)),
            layer = size.SaeLayer,
            k = size.K,
            threads = options.Threads,
        });

        if (peerInfo is not null)
            line($"Peer: PyTorch {peerInfo["torch"]}, {peerInfo["threads"]} threads, BLAS {peerInfo["blas"]}, OPENBLAS_CORETYPE {(Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { Length: > 0 } chosen ? chosen : PytorchPeer.BestOpenBlasCore() ?? "auto-detected")}.");
        line($"Ours: TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, {TorchSharp.torch.get_num_threads()} threads, backbone precision {options.BackbonePrecision}, " +
             $"MKL-packed weights {(options.PackCpuWeights && Inference.TorchSharp.Model.PackedMatrix.IsAvailable ? "on" : "off")}.");
        line("");

        var inference = new InferenceOptions
        {
            Device = "cpu", MaxBatchTokens = options.MaxBatchTokens, MaxTokens = 2048, QueueCapacity = 100_000,
            IntraOpThreads = options.Threads, BackbonePrecision = options.BackbonePrecision, PackCpuWeights = options.PackCpuWeights,
        };
        using var encoder = TorchFeatureEncoder.OpenSingle(modelDir, saeRepoDir, size.SaeLayer, inference);
        var saeId = encoder.Saes.Single().Id;

        if (peer is not null)
        {
            line(CheckSameFeatures(encoder, saeId, peer, RandomSequence(300)));
            line("");
        }

        var workloads = options.Lengths
            .Select(length => ($"length {length}", Enumerable.Range(0, Math.Max(1, options.TokensPerPoint / length)).Select(_ => RandomSequence(length)).ToList()))
            .Append(("mixed", MixedStream(options.TokensPerPoint)))
            .ToList();

        line($"{options.Rounds} rounds, alternating (odd rounds ours first, even rounds the peer first); medians; 1-minute load average at each reading. " +
             "Managed: our wall time outside the native backbone and SAE calls (tokenizing, queueing, feature lists, pooling, copies). " +
             "Of best ceiling: useful GFLOP per CPU-second over the highest float32 matmul ceiling of the run, each library's being the median of its " +
             "readings (each engine measures its own library, 2048^3, just before each of its readings: libtorch's mm and MKL's packed product on " +
             "our side, torch.matmul on the peer's; so the ceiling is taken in the same conditions as the workloads).");
        line("");
        line("| workload | residues | engine | residues/s (wall) | CPU ms per residue | residues per CPU-second | useful GFLOP per CPU-s | of best ceiling per CPU-s | padding waste | managed | loads |");
        // One entry per pair of readings: each library's ceiling measured just before it (ours: libtorch's mm and MKL's packed product).
        var ceilings = new List<Dictionary<string, Ceiling>>();
        // Rows wait for the last ceiling reading: the ratio column divides by the run's median ceiling.
        var rows = new List<(string Name, int Residues, string Engine, double Wall, double Cpu, double PerCpu, double Waste, string Managed, string Loads)>();
        foreach (var (name, sequences) in workloads)
        {
            var tokenCounts = sequences.Select(s => s.Length + 2).ToList();
            var batches = BatchPlanner.Plan(tokenCounts, inference.MaxBatchTokens, inference.MaxLengthSpread)
                .Select(b => b.Select(i => EsmcTokenizer.Tokenize(sequences[i]).Ids).ToArray()).ToArray();
            var residues = sequences.Sum(s => s.Length);
            var flops = UsefulFlops.Of(size, sequences.Select(s => s.Length));
            // Warm both on this workload's shapes first.
            Encode(encoder, saeId, sequences.Take(1).ToList());
            peer?.Send(new { cmd = "run", batches = batches.Take(1).Select(b => b.Take(1).ToArray()).ToArray() });

            var ourReadings = new List<Reading>();
            var peerReadings = new List<Reading>();
            for (var round = 0; round < options.Rounds; round++)
            {
                void RunOurs() => ourReadings.Add(MeasureOurs(encoder, saeId, sequences));
                void RunPeer()
                {
                    if (peer is not null) peerReadings.Add(MeasurePeer(peer, batches));
                }
                if (round % 2 == 0) { RunOurs(); RunPeer(); }
                else { RunPeer(); RunOurs(); }
            }
            for (var r = 0; r < ourReadings.Count; r++)
            {
                var entry = new Dictionary<string, Ceiling>(ourReadings[r].Ceilings);
                if (r < peerReadings.Count) foreach (var (library, ceiling) in peerReadings[r].Ceilings) entry[library] = ceiling;
                ceilings.Add(entry);
            }
            var padded = batches.Sum(b => (long)b.Length * b.Max(s => s.Length));
            var waste = 1 - (double)tokenCounts.Sum() / padded;
            foreach (var (engine, readings) in new[] { ("ours", ourReadings), ("PyTorch", peerReadings) }.Where(e => e.Item2.Count > 0))
            {
                var wall = Median(readings.Select(r => r.Wall));
                var cpu = Median(readings.Select(r => r.Cpu));
                rows.Add((name, residues, engine, wall, cpu, flops / cpu / 1e9, waste, engine == "ours" ? $"{Median(readings.Select(r => r.Managed)) * 100:F1}%" : "-",
                    string.Join(" ", readings.Select(r => r.Load.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))));
            }
            if (peerReadings.Count > 0)
                Console.Error.WriteLine($"[bench] {name}: ours/peer residues per CPU-second = {Median(peerReadings.Select(r => r.Cpu)) / Median(ourReadings.Select(r => r.Cpu)):F2}");
        }
        var libraries = ceilings.SelectMany(c => c.Keys).Distinct().ToList();
        var medians = libraries.ToDictionary(l => l, l => Median(ceilings.Where(c => c.ContainsKey(l)).Select(c => c[l].GflopsPerCpuSecond)));
        var bestLibrary = medians.MaxBy(m => m.Value).Key;
        var bestCeiling = medians[bestLibrary];
        line("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
            line($"| {r.Name} | {r.Residues} | {r.Engine} | {r.Residues / r.Wall:F0} | {r.Cpu / r.Residues * 1000:F2} | **{r.Residues / r.Cpu:F1}** | {r.PerCpu:F1} | " +
                 $"{r.PerCpu / bestCeiling * 100:F0}% | {r.Waste * 100:F1}% | {r.Managed} | {r.Loads} |");
        line("");
        line("| float32 matmul ceiling (2048^3, beside every reading) | readings | best GFLOP/s (wall) | GFLOP per CPU-second, median (range) | higher in |");
        line("| --- | --- | --- | --- | --- |");
        foreach (var library in libraries)
        {
            var readings = ceilings.Where(c => c.ContainsKey(library)).Select(c => c[library]).ToList();
            var highest = ceilings.Count(c => c.TryGetValue(library, out var mine) && c.Values.All(other => mine.GflopsPerCpuSecond >= other.GflopsPerCpuSecond));
            line($"| {library} | {readings.Count} | {readings.Max(c => c.Gflops):F1} | {medians[library]:F1} " +
                 $"({readings.Min(c => c.GflopsPerCpuSecond):F1}-{readings.Max(c => c.GflopsPerCpuSecond):F1}) | {highest} of {ceilings.Count} readings |");
        }
        line("");
        line($"Best float32 ceiling: {bestLibrary}, {bestCeiling:F1} GFLOP per CPU-second (median of its readings); " +
             "\"of best ceiling\" divides useful model FLOPs per CPU-second by it.");
    }

    private static string CheckSameFeatures(TorchFeatureEncoder encoder, string saeId, PytorchPeer peer, string sequence)
    {
        var ours = Encode(encoder, saeId, [sequence])[0];
        var reply = peer.Send(new { cmd = "run", batches = new[] { new[] { EsmcTokenizer.Tokenize(sequence).Ids } }, features = true });
        var features = reply["features"]!.AsArray()[0]!.AsObject();
        var values = features["values"]!.AsArray();
        var indices = features["indices"]!.AsArray();
        int same = 0, compared = 0;
        var maxRelative = 0.0;
        for (var r = 0; r < ours.Length; r++)
        {
            // Peer rows include <cls> at 0: residue r is peer row r + 1. Zeros are dropped, as our feature lists do.
            var peerRow = values[r + 1]!.AsArray().Zip(indices[r + 1]!.AsArray(), (v, i) => (Index: i!.GetValue<int>(), Value: v!.GetValue<double>()))
                .Where(p => p.Value > 0).ToDictionary(p => p.Index, p => p.Value);
            var ourRow = ours.Residues[r];
            compared++;
            if (ourRow.Length == peerRow.Count && ourRow.All(f => peerRow.ContainsKey(f.Index))) same++;
            foreach (var f in ourRow)
                if (peerRow.TryGetValue(f.Index, out var v)) maxRelative = Math.Max(maxRelative, Math.Abs(f.Value - v) / Math.Max(1e-6, Math.Abs(v)));
        }
        return $"Same-model check ({sequence.Length} residues, one sequence): identical top-{encoder.Saes.Single().K} feature sets on **{same} of {compared}** residues; " +
               $"largest relative difference of a shared activation {maxRelative:E1}.";
    }

    private static Reading MeasureOurs(TorchFeatureEncoder encoder, string saeId, List<string> sequences)
    {
        Thread.Sleep(300);   // lets the other engine's BLAS/OpenMP threads stop spinning before we start
        var (libtorch, packed) = MatmulCeiling.Measure(2048, CeilingRepeats);
        var ceilings = new Dictionary<string, Ceiling> { [LibtorchCeiling] = libtorch };
        if (packed is not null) ceilings[PackedCeiling] = packed;
        var load = LoadAverage();
        var before = encoder.Metrics.Snapshot();
        var cpu = MatmulCeiling.CpuSeconds();
        var sw = Stopwatch.StartNew();
        Encode(encoder, saeId, sequences);
        var wall = sw.Elapsed.TotalSeconds;
        var native = encoder.Metrics.Snapshot().Since(before);
        return new Reading(wall, MatmulCeiling.CpuSeconds() - cpu, load, Math.Max(0, 1 - (native.BackboneSeconds + native.SaeSeconds) / wall), ceilings);
    }

    private static Reading MeasurePeer(PytorchPeer peer, long[][][] batches)
    {
        Thread.Sleep(300);
        var measured = peer.Send(new { cmd = "ceiling", n = 2048, repeats = CeilingRepeats });
        var ceiling = new Dictionary<string, Ceiling>
        {
            [PeerCeiling] = new(measured["gflops"]!.GetValue<double>(), measured["gflops_per_cpu_second"]!.GetValue<double>()),
        };
        var load = LoadAverage();
        var reply = peer.Send(new { cmd = "run", batches });
        return new Reading(reply["wall"]!.GetValue<double>(), reply["cpu"]!.GetValue<double>(), load, double.NaN, ceiling);
    }

    private static IReadOnlyList<EncodedSequence> Encode(TorchFeatureEncoder encoder, string saeId, IReadOnlyList<string> sequences) =>
        encoder.EncodeAsync(saeId, sequences).GetAwaiter().GetResult();

    private static double LoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (IOException) { return double.NaN; }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private string RandomSequence(int length) => InferenceRunner.RandomSequence(_random, length);

    /// <summary>Log-normal lengths around 300 aa (as the main benchmark's mixed stream) until about <paramref name="residues"/> residues.</summary>
    private List<string> MixedStream(int residues)
    {
        var result = new List<string>();
        for (var total = 0; total < residues;)
        {
            var s = InferenceRunner.MixedSequence(_random);
            result.Add(s);
            total += s.Length;
        }
        return result;
    }

    private sealed record Reading(double Wall, double Cpu, double Load, double Managed, IReadOnlyDictionary<string, Ceiling> Ceilings);
}

/// <summary>Model FLOPs that do useful work (no padding): the blocks up to the SAE layer plus the SAE encoder matmul.</summary>
internal static class UsefulFlops
{
    public static double Of(DemoModelSize size, IEnumerable<int> residueLengths)
    {
        var d = (double)size.DModel;
        var ffn = Inference.TorchSharp.Checkpoints.EsmcModelConfig.SwiGluHidden(size.DModel);
        return residueLengths.Sum(length =>
        {
            double t = length + 2;
            var perBlock = t * 2 * (4.0 * d * d + 3.0 * ffn * d) + 4 * t * t * d;
            return size.SaeLayer * perBlock + t * 2.0 * d * size.CodebookSize;
        });
    }
}
