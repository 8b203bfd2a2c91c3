using System.Runtime.Intrinsics.X86;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// The AVX-512 attention kernel (<see cref="CpuAttention"/>) against libtorch's <c>scaled_dot_product_attention</c>, which
/// it replaces on such CPUs, and a float64 reference: as close to the reference as SDPA is, with padding keys left out
/// exactly as the backbone's SDPA key mask leaves them out.
/// </summary>
public sealed class CpuAttentionTests
{
    private const int HeadDim = 64;

    [Avx512Fact]
    public void Attention_is_as_close_to_float64_as_sdpa_with_and_without_padding()
    {
        // Lengths that are not multiples of the 12-key and 32-query tiles (and tiles of 1 to 31 queries, through both
        // context tile widths); a row of two tokens; a single token; no padding at all.
        foreach (var (lengths, length) in new (int[]? Lengths, int Length)[]
                 {
                     ([45, 30, 2], 45), (null, 37), ([41, 40], 41), ([300, 299], 300), ([1], 1), ([1030, 517], 1030),
                 })
        {
            using var scope = NewDisposeScope();
            var batch = lengths?.Length ?? 2;
            manual_seed(length);
            var (q, k, v) = (randn(batch, length, 3 * HeadDim) * 2, randn(batch, length, 3 * HeadDim) * 2, randn(batch, length, 3 * HeadDim));
            // The backbone's own SDPA mask: where the CPU has no AVX-512 (or the backbone is bfloat16) it takes SDPA with it.
            var mask = lengths is null ? null : EsmcBackbone.KeyMask(lengths, length, CPU);

            var exact = Sdpa(q.to(ScalarType.Float64), k.to(ScalarType.Float64), v.to(ScalarType.Float64), mask);
            var sdpa = Sdpa(q, k, v, mask);
            var ours = full(batch, length, 3 * HeadDim, float.NaN);   // every element must be written
            Assert.True(CpuAttention.Supports(ours.device_type, ours.dtype, HeadDim));
            CpuAttention.Run(q, k, v, lengths, ours);

            var scale = exact.abs().max().item<double>();
            var ourError = (ours.to(ScalarType.Float64) - exact).abs().max().item<double>();
            var sdpaError = (sdpa.to(ScalarType.Float64) - exact).abs().max().item<double>();
            Assert.True(ourError <= 2 * sdpaError + 1e-6 * scale,
                $"lengths [{string.Join(", ", lengths ?? [])}] of {length}: error {ourError:E2}, SDPA's {sdpaError:E2} (largest value {scale:E2})");
        }
    }

    [Avx512Fact]
    public void A_row_without_real_keys_attends_to_nothing()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = (randn(2, 5, HeadDim), randn(2, 5, HeadDim), randn(2, 5, HeadDim));
        var ours = full(2, 5, HeadDim, float.NaN);
        CpuAttention.Run(q, k, v, [5, 0], ours);
        Assert.True(ours[1].eq(0f).all().item<bool>());
        Assert.False(ours[0].isnan().any().item<bool>());
    }

    [Avx512Fact]
    public void In_the_backbone_padding_does_not_change_any_row()
    {
        // The golden test models have heads of 8, so they run SDPA; ESMC's heads are 64 wide and run this kernel. A random
        // model with two such heads: a protein of 1,040 residues batched with one of 300 (padded by 740 positions that
        // attention must not read), each against itself alone. The products run on other row counts and round
        // differently, so the rows agree to 1e-4 rather than bit for bit.
        var root = Directory.CreateTempSubdirectory("cpu-attention-").FullName;
        try
        {
            var size = new DemoModelSize("Heads-of-64", DModel: 128, Heads: 2, Layers: 2, SaeLayer: 1, CodebookSize: 64, K: 8);
            DemoModel.Create(root, size);
            var model = EsmcCheckpoint.Open(Path.Combine(root, size.ModelName));
            Assert.Equal(HeadDim, model.Config.DModel / model.Config.Heads);
            using var engine = EsmcInferenceEngine.Load(model, [], "cpu", fullModel: true);
            var random = new Random(18);
            string Protein(int residues) => new([.. Enumerable.Range(0, residues).Select(_ => "ACDEFGHIKLMNPQRSTVWY"[random.Next(20)])]);
            var tokens = new[] { EsmcTokenizer.Tokenize(Protein(1040)), EsmcTokenizer.Tokenize(Protein(300)) };
            var request = new BatchRequest { HiddenStates = [size.Layers] };
            var batched = engine.Run(tokens, request);
            Assert.True(batched.PaddedTokens > batched.RealTokens);
            for (var i = 0; i < tokens.Length; i++)
            {
                var alone = engine.Run([tokens[i]], request).Sequences[0].HiddenStates[size.Layers];
                var together = batched.Sequences[i].HiddenStates[size.Layers];
                Assert.Equal(alone.Length, together.Length);
                for (var r = 0; r < alone.Length; r++)
                    for (var c = 0; c < alone[r].Length; c++)
                        Assert.True(Math.Abs(alone[r][c] - together[r][c]) <= 1e-4 * Math.Max(1, Math.Abs(alone[r][c])), $"sequence {i} h[{r}][{c}]: {together[r][c]} batched, {alone[r][c]} alone");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Other_dtypes_and_head_widths_take_sdpa()
    {
        using var scope = NewDisposeScope();
        Assert.False(CpuAttention.Supports(DeviceType.CPU, ScalarType.BFloat16, 64));
        Assert.False(CpuAttention.Supports(DeviceType.CPU, ScalarType.Float32, 32));
        Assert.False(CpuAttention.Supports(DeviceType.CUDA, ScalarType.Float32, 64));
    }

    [Avx512Fact]
    public void Mismatched_shapes_and_lengths_are_refused()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 5, HeadDim);
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(x, randn(2, 4, HeadDim), x, null, empty(2, 5, HeadDim)));
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(x, x, x, [5, 6], empty(2, 5, HeadDim)));
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(x, x, x, [5], empty(2, 5, HeadDim)));
        // Tensors the kernel cannot read through a raw pointer row by row: a strided view, another dtype, heads not 64 wide.
        var strided = randn(2, HeadDim, 5).transpose(1, 2);
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(strided, strided, strided, null, empty(2, 5, HeadDim)));
        var half = x.to(ScalarType.BFloat16);
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(half, half, half, null, empty(2, 5, HeadDim, dtype: ScalarType.BFloat16)));
        var narrow = randn(2, 5, 96);
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(narrow, narrow, narrow, null, empty(2, 5, 96)));
    }

    /// <summary>SDPA on [B, L, H * 64] tensors through the [B, H, L, 64] views, as the backbone calls it.</summary>
    private static Tensor Sdpa(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        var (batch, length, width) = (q.shape[0], q.shape[1], q.shape[2]);
        Tensor Heads(Tensor t) => t.reshape(batch, length, width / HeadDim, HeadDim).transpose(1, 2);
        return scaled_dot_product_attention(Heads(q), Heads(k), Heads(v), mask).transpose(1, 2).reshape(batch, length, width);
    }

    /// <summary>A fact that runs only where the kernel can (AVX-512); elsewhere the backbone uses SDPA and this is skipped.</summary>
    private sealed class Avx512FactAttribute : FactAttribute
    {
        public Avx512FactAttribute()
        {
            if (!Avx512F.IsSupported) Skip = "this CPU has no AVX-512; the backbone uses SDPA here";
        }
    }
}
