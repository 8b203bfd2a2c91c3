using System.Runtime.Intrinsics.X86;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// The AVX-512 attention kernel (<see cref="CpuAttention"/>) against libtorch's <c>scaled_dot_product_attention</c>, which
/// it replaces on such CPUs, and a float64 reference: as close to the reference as SDPA is, with padding keys left out
/// exactly as SDPA's key mask leaves them out.
/// </summary>
public sealed class CpuAttentionTests
{
    private const int HeadDim = 64;

    [Avx512Fact]
    public void Attention_is_as_close_to_float64_as_sdpa_with_and_without_padding()
    {
        // Lengths that are not multiples of the 8-key and 32-query tiles; a row of two tokens; a length over one work
        // item of 256 queries; no padding at all.
        foreach (var (lengths, length) in new (int[]? Lengths, int Length)[]
                 {
                     ([45, 30, 2], 45), (null, 37), ([300, 299], 300), ([1], 1),
                 })
        {
            using var scope = NewDisposeScope();
            var batch = lengths?.Length ?? 2;
            manual_seed(length);
            var (q, k, v) = (randn(batch, length, 3 * HeadDim) * 2, randn(batch, length, 3 * HeadDim) * 2, randn(batch, length, 3 * HeadDim));
            var mask = lengths is null ? null : KeyMask(lengths, length);

            var exact = Sdpa(q.to(ScalarType.Float64), k.to(ScalarType.Float64), v.to(ScalarType.Float64), mask);
            var sdpa = Sdpa(q, k, v, mask);
            var ours = full(batch, length, 3 * HeadDim, float.NaN);   // every element must be written
            Assert.True(CpuAttention.Supports(ours, HeadDim));
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

    [Fact]
    public void Other_dtypes_and_head_widths_take_sdpa()
    {
        using var scope = NewDisposeScope();
        Assert.False(CpuAttention.Supports(randn(1, 4, 64).to(ScalarType.BFloat16), 64));
        Assert.False(CpuAttention.Supports(randn(1, 4, 96), 32));
        Assert.False(CpuAttention.Supports(randn(1, 64, 4).transpose(1, 2), 64));
    }

    [Avx512Fact]
    public void Mismatched_shapes_and_lengths_are_refused()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 5, HeadDim);
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(x, randn(2, 4, HeadDim), x, null, empty(2, 5, HeadDim)));
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(x, x, x, [5, 6], empty(2, 5, HeadDim)));
        Assert.Throws<ArgumentException>(() => CpuAttention.Run(x, x, x, [5], empty(2, 5, HeadDim)));
    }

    /// <summary>SDPA on [B, L, H * 64] tensors through the [B, H, L, 64] views, as the backbone calls it.</summary>
    private static Tensor Sdpa(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        var (batch, length, width) = (q.shape[0], q.shape[1], q.shape[2]);
        Tensor Heads(Tensor t) => t.reshape(batch, length, width / HeadDim, HeadDim).transpose(1, 2);
        return scaled_dot_product_attention(Heads(q), Heads(k), Heads(v), mask).transpose(1, 2).reshape(batch, length, width);
    }

    private static Tensor KeyMask(int[] lengths, int length) =>
        arange(length).unsqueeze(0).lt(tensor(lengths.Select(n => (long)n).ToArray()).unsqueeze(1)).reshape(lengths.Length, 1, 1, length);

    /// <summary>A fact that runs only where the kernel can (AVX-512); elsewhere the backbone uses SDPA and this is skipped.</summary>
    private sealed class Avx512FactAttribute : FactAttribute
    {
        public Avx512FactAttribute()
        {
            if (!Avx512F.IsSupported) Skip = "this CPU has no AVX-512; the backbone uses SDPA here";
        }
    }
}
