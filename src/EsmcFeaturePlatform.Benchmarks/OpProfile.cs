using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>
/// Where the time of one ESMC-300M forward goes (issue 18): the block's operations and the SAE's, each timed alone in
/// CPU-seconds at a real batch shape, against the useful FLOPs they do. Random tensors: only the shapes matter.
/// </summary>
internal static class OpProfile
{
    public static void Run(Action<string> line, int batch, int length, int repeats)
    {
        const int d = 960, heads = 15, ffn = 2560, codebook = 65536, k = 64;
        var t = (long)batch * length;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var x = randn(batch, length, d);
        var wQkv = randn(3 * d, d) / 30;
        var wOut = randn(d, d) / 30;
        var wIn = randn(2 * ffn, d) / 30;
        var wDown = randn(d, ffn) / 50;
        var wEnc = randn(d, codebook) / 30;
        var norm = ones(d);
        var q = randn(batch, heads, length, d / heads);
        var qRows = randn(batch, length, heads, d / heads);
        var table = randn(length, 1, d / heads);
        var mask = ones(batch, 1, 1, length, dtype: ScalarType.Bool);
        var hidden = randn(t, 2 * ffn);
        var rows = randn(Math.Min(t, 256), d);   // the SAE encoder's chunk (16M activations / 65,536)
        var activations = rows.mm(wEnc);

        line($"Operation profile at batch {batch} x {length} tokens ({t} rows), {get_num_threads()} threads, best of {repeats}, CPU-seconds:");
        line("");
        line("| operation | CPU ms | GFLOP per CPU-s |");
        line("| --- | --- | --- |");
        void Op(string name, double flops, Func<Tensor> op)
        {
            op().Dispose();
            var best = double.MaxValue;
            for (var i = 0; i < repeats; i++)
            {
                var cpu = MatmulCeiling.CpuSeconds();
                op().Dispose();
                best = Math.Min(best, MatmulCeiling.CpuSeconds() - cpu);
            }
            line($"| {name} | {best * 1000:F1} | {(flops > 0 ? (flops / best / 1e9).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-")} |");
        }
        Op("layer_norm (d)", 0, () => layer_norm(x, [d], norm, norm, 1e-5));
        Op("linear q|k|v", 2.0 * t * d * 3 * d, () => linear(x, wQkv));
        Op("sdpa (mask)", 4.0 * batch * length * length * d, () => scaled_dot_product_attention(q, q, q, mask));
        Op("rotary, per q or k (roll, 2 mul, add)", 0, () => (qRows * table).add(qRows.roll(d / heads / 2, -1).mul_(table)));
        Op("linear out", 2.0 * t * d * d, () => linear(x, wOut));
        Op("linear gate|up", 2.0 * t * d * 2 * ffn, () => linear(x, wIn));
        Op("silu(gate) * up, in place (timed with a clone of its input)", 0, () => { var h = hidden.clone(); var c = h.chunk(2, -1); silu(c[0], inplace: true).mul_(c[1]); return h; });
        Op("linear down", 2.0 * t * ffn * d, () => linear(hidden.narrow(-1, 0, ffn), wDown));
        var r = rows.shape[0];
        Op($"SAE mm ({r} rows)", 2.0 * r * d * codebook, () => rows.mm(wEnc));
        Op($"SAE topk ({r} rows)", 0, () => activations.topk(k, dim: -1).values);
        line("");

        // The engine's products (PackedMatrix, Esmc:Inference:PackCpuWeights): libtorch's addmm into a reused buffer
        // against MKL's packed product into the same buffer, alternating repeat by repeat; medians.
        if (!PackedMatrix.IsAvailable) return;
        line($"Packed against unpacked weights, same {t} rows (the SAE: 1,024 rows x one 16,384-feature slice), {repeats * 3} alternating pairs, median CPU ms:");
        line("");
        line("| product | libtorch addmm | MKL packed | packed speed-up |");
        line("| --- | --- | --- | --- |");
        var flat = x.reshape(t, d);
        var saeRows = randn(1024, d);
        foreach (var (name, weight, input, fromColumns) in new[]
        {
            ("q (or k, v, out)", wOut, flat, false),
            ("gate|up", wIn, flat, false),
            ("down", wDown, hidden.narrow(-1, 0, ffn).contiguous(), false),
            ("SAE slice", wEnc.narrow(1, 0, 16_384).contiguous(), saeRows, true),
        })
        {
            using var plain = fromColumns ? LinearWeight.CreateFromColumns(weight.clone(), pack: false) : LinearWeight.Create(weight.clone(), pack: false);
            using var packed = fromColumns ? LinearWeight.CreateFromColumns(weight.clone(), pack: true) : LinearWeight.Create(weight.clone(), pack: true);
            var output = empty(input.shape[0], plain.OutFeatures);
            plain.ApplyInto(input, output);
            packed.ApplyInto(input, output);
            var a = new List<double>();
            var b = new List<double>();
            for (var i = 0; i < repeats * 3; i++)
            {
                var cpu = MatmulCeiling.CpuSeconds();
                plain.ApplyInto(input, output);
                var mid = MatmulCeiling.CpuSeconds();
                packed.ApplyInto(input, output);
                a.Add(mid - cpu);
                b.Add(MatmulCeiling.CpuSeconds() - mid);
            }
            var (ma, mb) = (a.Order().ElementAt(a.Count / 2), b.Order().ElementAt(b.Count / 2));
            line($"| {name} | {ma * 1000:F1} | {mb * 1000:F1} | {ma / mb:F2}x |");
        }
        line("");
    }
}
