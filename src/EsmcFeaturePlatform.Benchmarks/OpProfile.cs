using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Sae;
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
        var qRows = randn(batch, length, d);
        var qScratch = empty(batch, length, d);
        var cos = randn(length, d / heads);
        var sin = randn(length, d / heads);
        var residual = randn(batch, length, d);
        var mask = ones(batch, 1, 1, length, dtype: ScalarType.Bool);
        var hidden = randn(t, 2 * ffn);
        var scratch = empty(t, 2 * ffn);
        // The SAE encoder's block as the engine runs it (SaeEncoder): 1,024 rows times one 16,384-feature slice of W_enc.
        var rows = randn(Math.Min(t, 1024), d);
        var wEncSlice = wEnc.narrow(1, 0, 16_384).contiguous();
        var activations = rows.mm(wEncSlice);

        line($"Operation profile at batch {batch} x {length} tokens ({t} rows), {get_num_threads()} threads, best of {repeats}, CPU-seconds:");
        line("");
        line("| operation | CPU ms | GFLOP per CPU-s |");
        line("| --- | --- | --- |");
        // before: untimed preparation run ahead of every timed call (an in-place operation's fresh input).
        void Op(string name, double flops, Func<Tensor> op, Action? before = null)
        {
            before?.Invoke();
            op().Dispose();
            var best = double.MaxValue;
            for (var i = 0; i < repeats; i++)
            {
                before?.Invoke();
                var cpu = MatmulCeiling.CpuSeconds();
                op().Dispose();
                best = Math.Min(best, MatmulCeiling.CpuSeconds() - cpu);
            }
            line($"| {name} | {best * 1000:F1} | {(flops > 0 ? (flops / best / 1e9).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-")} |");
        }
        Op("layer_norm (d)", 0, () => layer_norm(x, [d], norm, norm, 1e-5));
        Op("linear q|k|v", 2.0 * t * d * 3 * d, () => linear(x, wQkv));
        Op("sdpa (mask)", 4.0 * batch * length * length * d, () => scaled_dot_product_attention(q, q, q, mask));
        if (CpuAttention.Supports(qRows.device_type, qRows.dtype, d / heads))
        {
            var lengths = Enumerable.Repeat(length, batch).ToArray();
            Op($"attention, CpuAttention (the engine's on AVX-512)", 4.0 * batch * length * length * d, () =>
            {
                CpuAttention.Run(qRows, qRows, qRows, lengths, qScratch);
                return empty(0);
            });
        }
        Op("q or k LayerNorm + rotary, libtorch (layer_norm without bias, roll, 2 mul, add)", 0, () =>
        {
            var y = layer_norm(qRows, [d], norm, null, 1e-5).reshape(batch, length, heads, d / heads);
            return (y * cos.unsqueeze(1)).add(y.roll(d / heads / 2, -1).mul_(sin.unsqueeze(1)));
        });
        Op("q or k LayerNorm + rotary, fused in place (the engine's)", 0, () =>
        {
            QkNormRotary.ApplyInPlace(qScratch, norm, cos, sin, length, d / heads, 1e-5);
            return empty(0);
        }, () => qScratch.copy_(qRows));
        Op("linear out", 2.0 * t * d * d, () => linear(x, wOut));
        Op("linear gate|up", 2.0 * t * d * 2 * ffn, () => linear(x, wIn));
        Op("residual y / s + x, in place (div_, add_)", 0, () =>
        {
            qScratch.DividedInPlaceBy(1.29).PlusInPlace(residual);
            return empty(0);   // not the scratch buffer itself, which Op would dispose
        }, () => qScratch.copy_(qRows));
        Op("silu(gate) * up, in place", 0, () => { var c = scratch.chunk(2, -1); return silu(c[0], inplace: true).mul_(c[1]); }, () => scratch.copy_(hidden));
        Op("linear down", 2.0 * t * ffn * d, () => linear(hidden.narrow(-1, 0, ffn), wDown));
        var r = rows.shape[0];
        var width = activations.shape[1];
        Op($"SAE mm ({r} rows x {width} features)", 2.0 * r * d * width, () => rows.mm(wEncSlice));
        Op($"SAE top-k, torch.topk ({r} x {width})", 0, () => activations.topk(k, dim: -1).values);
        Op($"SAE top-k, StreamingTopK, the engine's ({r} x {width})", 0, () =>
        {
            var selection = new StreamingTopK((int)r, k, new float[r * k], new long[r * k], 0, get_num_threads());
            selection.Add(activations, 0);
            selection.Finish();
            return empty(0);
        });
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
            ("down (its input the gate half, read in place)", wDown, hidden.narrow(-1, 0, ffn), false),
            ("SAE slice", wEncSlice, saeRows, true),
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
