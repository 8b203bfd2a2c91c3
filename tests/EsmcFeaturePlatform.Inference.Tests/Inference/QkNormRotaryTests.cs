using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// The fused q/k LayerNorm with rotary (<see cref="QkNormRotary"/>) against libtorch's operators, which it replaces on
/// float32 CPU tensors: as close to a float64 reference as libtorch's float32 operators are.
/// </summary>
public sealed class QkNormRotaryTests
{
    [Theory]
    [InlineData(3, 37, 960, 64)]   // ESMC's head width; an odd number of positions
    [InlineData(2, 5, 96, 32)]     // a narrower head: half a head is a few vector lengths
    [InlineData(1, 1, 64, 64)]     // one token, one head
    public void LayerNorm_and_rotary_are_as_close_to_float64_as_libtorchs(int batch, int length, int width, int headDim)
    {
        using var scope = NewDisposeScope();
        manual_seed(width + length);
        // Rows with an offset and spread, as pre-norm activations have; random tables, one row per position, so a row read
        // at the wrong position would be far off.
        var x = randn(batch, length, width) * 3 + 0.5;
        var weight = randn(width) * 0.2 + 1;
        var cos = rand(length, headDim) * 2 - 1;
        var sin = rand(length, headDim) * 2 - 1;
        const double eps = 1e-5;

        var exact = Reference(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), cos.to(ScalarType.Float64), sin.to(ScalarType.Float64), headDim, eps);
        var libtorch = Reference(x, weight, cos, sin, headDim, eps);
        var fused = x.clone();
        Assert.True(QkNormRotary.Supports(fused, headDim));
        QkNormRotary.ApplyInPlace(fused, weight, cos, sin, length, headDim, eps);

        var scale = exact.abs().max().item<double>();
        var fusedError = (fused.to(ScalarType.Float64) - exact).abs().max().item<double>();
        var libtorchError = (libtorch.to(ScalarType.Float64) - exact).abs().max().item<double>();
        // Both a few float32 roundings from the truth; the fused pass no further than twice libtorch's distance.
        Assert.True(fusedError <= 2 * libtorchError + 1e-7 * scale,
            $"[{batch}, {length}, {width}] heads of {headDim}: fused error {fusedError:E2}, libtorch's {libtorchError:E2} (largest value {scale:E2})");
    }

    [Fact]
    public void Other_dtypes_layouts_and_widths_take_libtorchs_operators()
    {
        using var scope = NewDisposeScope();
        Assert.False(QkNormRotary.Supports(randn(4, 64).to(ScalarType.BFloat16), 64));
        Assert.False(QkNormRotary.Supports(randn(64, 4).t(), 64));     // not contiguous
        Assert.False(QkNormRotary.Supports(randn(4, 96), 64));         // not whole heads
        Assert.False(QkNormRotary.Supports(randn(4, 6), 6));           // half a head is not whole vectors
    }

    /// <summary>libtorch's operators in <paramref name="x"/>'s dtype: LayerNorm without bias, then x cos + roll(x, half) sin.</summary>
    private static Tensor Reference(Tensor x, Tensor weight, Tensor cos, Tensor sin, int headDim, double eps)
    {
        var width = x.shape[^1];
        var y = layer_norm(x, [width], weight, null, eps).reshape(x.shape[0], x.shape[1], width / headDim, headDim);
        var (c, s) = (cos.unsqueeze(1), sin.unsqueeze(1));
        return (y * c).add(y.roll(headDim / 2, -1) * s).reshape(x.shape);
    }
}
