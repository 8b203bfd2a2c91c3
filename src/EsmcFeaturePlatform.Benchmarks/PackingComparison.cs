using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>
/// The engine with MKL-packed weights against the same engine without (Esmc:Inference:PackCpuWeights), both loaded in
/// one process and run on the same batches, alternating batch by batch (the order flips every pair), so that the
/// machine's drift falls on both alike; the median ratio of CPU-seconds per pair is the reading.
/// </summary>
internal static class PackingComparison
{
    public static void Run(Action<string> line, DemoModelSize size, string modelDir, string saeRepoDir, IReadOnlyList<int> lengths, int tokensPerPoint, int pairs)
    {
        var checkpoint = EsmcCheckpoint.Open(modelDir);
        var sae = SaeCheckpoint.Open(saeRepoDir, size.SaeLayer, checkpoint.Config, modelDir);
        using var plain = EsmcInferenceEngine.Load(checkpoint, [sae], "cpu", fullModel: false, backboneDType: null, packCpuWeights: false);
        using var packed = EsmcInferenceEngine.Load(checkpoint, [sae], "cpu", fullModel: false, backboneDType: null, packCpuWeights: true);
        var (packedBytes, weightBytes) = PackedMatrix.LiveBytes;
        var request = new BatchRequest { Saes = [sae.Id] };
        var random = new Random(20261202);
        line($"Packed against unpacked weights, whole forward and SAE ({size.ModelName}, {TorchSharp.torch.get_num_threads()} threads), " +
             $"{pairs} alternating pairs per workload, residues per CPU-second (medians) and the median of the per-pair ratios:");
        line("");
        // What MKL allocated (cblas_sgemm_pack_get_size), not what became resident: the buffers are pages of the C heap.
        line($"Memory of the packed weights ({size.SaeLayer} blocks and the SAE's W_enc): MKL allocated {packedBytes / 1e9:F2} GB for weights of {weightBytes / 1e9:F2} GB in float32.");
        line("");
        line("| workload | residues per batch | unpacked | packed | packed / unpacked (median of pairs, range) | same features |");
        line("| --- | --- | --- | --- | --- | --- |");
        foreach (var length in lengths)
        {
            var batch = Enumerable.Range(0, Math.Max(1, tokensPerPoint / length))
                .Select(_ => EsmcTokenizer.TokenizeForSae(InferenceRunner.RandomSequence(random, length), 2048, "bench")).ToList();
            var residues = batch.Sum(s => s.TokenCount - 2);
            var same = SameFeatures(packed.Run(batch, request), plain.Run(batch, request), sae.Id);
            var (p, u, ratios) = (new List<double>(), new List<double>(), new List<double>());
            for (var pair = 0; pair < pairs; pair++)
            {
                double Time(EsmcInferenceEngine engine)
                {
                    var cpu = MatmulCeiling.CpuSeconds();
                    engine.Run(batch, request);
                    return MatmulCeiling.CpuSeconds() - cpu;
                }
                double a, b;
                if (pair % 2 == 0) { a = Time(packed); b = Time(plain); }
                else { b = Time(plain); a = Time(packed); }
                p.Add(residues / a);
                u.Add(residues / b);
                ratios.Add(b / a);
            }
            line($"| length {length} | {residues} | {Median(u):F1} | {Median(p):F1} | **{Median(ratios):F2}x** ({ratios.Min():F2}-{ratios.Max():F2}) | {same} |");
        }
        line("");
    }

    private static string SameFeatures(BatchOutput a, BatchOutput b, string saeId)
    {
        int same = 0, total = 0;
        for (var s = 0; s < a.Sequences.Count; s++)
            for (var r = 0; r < a.Sequences[s].Saes[saeId].Positions.Length; r++)
            {
                total++;
                if (a.Sequences[s].Saes[saeId].Positions[r].Select(f => f.Index).Order().SequenceEqual(b.Sequences[s].Saes[saeId].Positions[r].Select(f => f.Index).Order())) same++;
            }
        return $"{same} of {total} rows";
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
