using System.Diagnostics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>All measurements for one model size; see Program.cs for what and why.</summary>
internal sealed class InferenceRunner(BenchmarkOptions options, DemoModelSize size, string modelDir, string saeRepoDir, double ceilingGflops)
{
    private const string Residues = "ACDEFGHIKLMNPQRSTVWY";
    private readonly Random _random = new(20261126);

    public void Run(Action<string> line)
    {
        var dModel = size.DModel;
        line($"### {size.ModelName}: d {dModel}, {size.Layers} layers, SAE layer {size.SaeLayer}, codebook {size.CodebookSize}, k {size.K}");
        line("");

        var inference = new InferenceOptions { Device = "cpu", MaxBatchTokens = options.MaxBatchTokens, MaxTokens = 2048, QueueCapacity = 100_000, PackCpuWeights = options.PackCpuWeights };
        using (var encoder = TorchFeatureEncoder.OpenSingle(modelDir, saeRepoDir, size.SaeLayer, inference))
        {
            var saeId = encoder.Saes.Single().Id;
            var load = Stopwatch.StartNew();
            Encode(encoder, saeId, [RandomSequence(50)]); // loads the weights and warms the kernels
            line($"Model load + first call: {load.Elapsed.TotalSeconds:F1} s; resident memory after load: {CurrentRssMiB():F0} MiB.");
            line("");
            line("| workload | sequences | residues | seconds | residues/s | useful GFLOP/s | of matmul ceiling | padding waste | SAE share |");
            line("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var length in options.Lengths)
            {
                var count = Math.Max(1, options.TokensPerPoint / length);
                var sequences = Enumerable.Range(0, count).Select(_ => RandomSequence(length)).ToList();
                Encode(encoder, saeId, [sequences[0]]); // warm this shape
                Measure(encoder, saeId, $"length {length}", sequences, line);
            }
            var mixed = MixedStream(options.MixSequences);
            Encode(encoder, saeId, mixed.Take(2).ToList());
            MachineInfo.ResetPeakRss();
            Measure(encoder, saeId, $"mixed stream (median {Median(mixed)} aa)", mixed, line);
            var peakSmall = MachineInfo.PeakRssMiB();
            var doubled = MixedStream(options.MixSequences * 2);
            MachineInfo.ResetPeakRss();
            Measure(encoder, saeId, $"mixed stream x2 (median {Median(doubled)} aa)", doubled, line);
            var peakLarge = MachineInfo.PeakRssMiB();
            line("");
            line($"Peak resident memory: {peakSmall:F0} MiB for the {mixed.Count}-sequence stream, {peakLarge:F0} MiB for the {doubled.Count}-sequence stream " +
                 $"(batch budget {options.MaxBatchTokens} padded tokens): memory follows the batch, not the corpus.");
            line("");
        }

        // Stopping at the SAE layer versus running every block as the reference does.
        var checkpoint = EsmcCheckpoint.Open(modelDir);
        var sae = SaeCheckpoint.Open(saeRepoDir, size.SaeLayer, checkpoint.Config, modelDir);
        using var engine = EsmcInferenceEngine.Load(checkpoint, [sae], "cpu", fullModel: true);
        var batch = Enumerable.Range(0, Math.Clamp(options.TokensPerPoint / 302, 1, 4)).Select(_ => EsmcTokenizer.TokenizeForSae(RandomSequence(300), 2048, "bench")).ToList();
        var saeOnly = new BatchRequest { Saes = [sae.Id] };
        var allBlocks = new BatchRequest { Saes = [sae.Id], HiddenStates = [checkpoint.Config.Layers] };
        engine.Run(batch.Take(1).ToList(), saeOnly);
        engine.Run(batch.Take(1).ToList(), allBlocks);
        // Best of two, alternating, so neither side pays for a cold cache alone.
        double stopped = double.MaxValue, full = double.MaxValue;
        for (var repeat = 0; repeat < 2; repeat++)
        {
            stopped = Math.Min(stopped, Time(() => engine.Run(batch, saeOnly)));
            full = Math.Min(full, Time(() => engine.Run(batch, allBlocks)));
        }
        line($"Stopping at layer {size.SaeLayer} of {checkpoint.Config.Layers}: {stopped:F2} s instead of {full:F2} s for {batch.Count} x 300 residues " +
             $"(**{(1 - stopped / full) * 100:F0}% saved**; the block count alone predicts {(1 - (double)size.SaeLayer / checkpoint.Config.Layers) * 100:F0}% of the backbone).");
        line("");

        double UsefulFlopsOf(IEnumerable<string> seqs) => UsefulFlops.Of(size, seqs.Select(s => s.Length));

        void Measure(TorchFeatureEncoder encoder, string saeId, string name, List<string> sequences, Action<string> write)
        {
            var before = encoder.Metrics.Snapshot();
            var seconds = Time(() => Encode(encoder, saeId, sequences));
            var delta = encoder.Metrics.Snapshot().Since(before);
            var residues = sequences.Sum(s => s.Length);
            var gflops = UsefulFlopsOf(sequences) / seconds / 1e9;
            var saeShare = delta.SaeSeconds / Math.Max(1e-9, delta.SaeSeconds + delta.BackboneSeconds);
            write($"| {name} | {sequences.Count} | {residues} | {seconds:F2} | {residues / seconds:F0} | {gflops:F1} | {gflops / ceilingGflops * 100:F0}% | {delta.PaddingWaste * 100:F1}% | {saeShare * 100:F0}% |");
        }
    }

    private static IReadOnlyList<EncodedSequence> Encode(TorchFeatureEncoder encoder, string saeId, IReadOnlyList<string> sequences) =>
        encoder.EncodeAsync(saeId, sequences).GetAwaiter().GetResult();

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }

    private string RandomSequence(int length) => RandomSequence(_random, length);

    public static string RandomSequence(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = Residues[random.Next(Residues.Length)];
        return new string(chars);
    }

    private List<string> MixedStream(int count) => Enumerable.Range(0, count).Select(_ => MixedSequence(_random)).ToList();

    /// <summary>Lengths drawn log-normally around UniProt's typical protein (median ~300 aa), clipped to 30..1500.</summary>
    public static string MixedSequence(Random random)
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        var normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        var length = (int)Math.Clamp(Math.Exp(Math.Log(300) + 0.6 * normal), 30, 1500);
        return RandomSequence(random, length);
    }

    private static int Median(List<string> sequences) => sequences.Select(s => s.Length).Order().ElementAt(sequences.Count / 2);

    private static double CurrentRssMiB() => Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024);
}
