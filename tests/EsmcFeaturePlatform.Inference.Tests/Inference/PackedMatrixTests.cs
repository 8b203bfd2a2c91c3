using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using Xunit;
using static EsmcFeaturePlatform.Inference.Tests.Inference.InferenceFixtures;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// MKL's packed GEMM (<see cref="PackedMatrix"/>) against a float64 product as the truth and against libtorch's own float32
/// matmul, the reference the rest of the inference path (and the golden files) were checked with: the packed product
/// rounds differently (its own blocking) but is as close to the exact product as libtorch's.
/// </summary>
public sealed class PackedMatrixTests
{
    private static readonly int[] RowCounts = [1, 2, 3, 7, 15, 16, 17, 31, 64, 100, 257, 1000, 3001];

    [Fact]
    public void This_libtorch_exports_the_packed_gemm()
    {
        // The platform's CPU build (libtorch-cpu-linux-x64) links MKL; if this fails the speed-up is silently gone.
        Assert.True(PackedMatrix.IsAvailable, "cblas_sgemm_pack/compute were not found through LibTorchSharp");
    }

    [Theory]
    [InlineData(960, 960, true)]
    [InlineData(5120, 960, true)]
    [InlineData(960, 2560, true)]
    [InlineData(33, 17, true)]
    [InlineData(16384, 96, false)]
    [InlineData(33, 17, false)]
    public void Packed_products_are_as_close_to_the_exact_product_as_libtorchs(int outFeatures, int inFeatures, bool linearLayout)
    {
        using var scope = NewDisposeScope();
        manual_seed(outFeatures + inFeatures);
        // A linear layer's weight is [out, in] (y = x Wᵀ); W_enc is [in, out] (y = x W).
        var weight = linearLayout ? randn(outFeatures, inFeatures) * 0.05 : randn(inFeatures, outFeatures) * 0.05;
        using var packed = PackedMatrix.TryPack(weight, transposed: linearLayout);
        Assert.NotNull(packed);
        Assert.Equal(outFeatures, packed.OutFeatures);
        Assert.Equal(inFeatures, packed.InFeatures);
        var exactWeight = weight.to(ScalarType.Float64);
        foreach (var rows in RowCounts)
        {
            var x = randn(rows, inFeatures);
            var exact = linearLayout ? nn.functional.linear(x.to(ScalarType.Float64), exactWeight) : x.to(ScalarType.Float64).mm(exactWeight);
            var libtorch = linearLayout ? nn.functional.linear(x, weight) : x.mm(weight);
            var actual = full(rows, outFeatures, float.NaN);   // old contents must be ignored
            packed.MultiplyInto(x, actual);
            var scale = exact.abs().max().item<double>();
            var packedError = (actual.to(ScalarType.Float64) - exact).abs().max().item<double>();
            var libtorchError = (libtorch.to(ScalarType.Float64) - exact).abs().max().item<double>();
            // float32 accumulation over at most a few thousand terms: both within a few units of float32 rounding.
            Assert.True(packedError <= 2 * libtorchError + 1e-6 * scale,
                $"{rows} rows x [{outFeatures}, {inFeatures}]: packed error {packedError:E2}, libtorch's {libtorchError:E2} (largest value {scale:E2})");
        }
    }

    [Fact]
    public void Multiply_keeps_leading_dimensions_and_accepts_a_strided_input()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var weight = randn(24, 40);
        using var packed = PackedMatrix.TryPack(weight, transposed: true)!;
        var x = randn(40, 2, 20).permute(1, 2, 0);   // [2, 20, 40], not contiguous
        var y = packed.Multiply(x);
        Assert.Equal([2L, 20L, 24L], y.shape);
        Assert.True(nn.functional.linear(x.contiguous(), weight).allclose(y, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void A_column_slice_is_read_in_place_with_the_same_bits_as_its_copy()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        // The down projection's input: the gate half of a [rows, 2F] gate|up buffer, rows 2F apart.
        var weight = randn(24, 40);
        using var packed = PackedMatrix.TryPack(weight, transposed: true)!;
        foreach (var rows in new[] { 1, 3, 300 })
        {
            var gateUp = randn(rows, 80);
            var gate = gateUp.chunk(2, -1)[0];
            Assert.True(rows == 1 || !gate.is_contiguous());   // one row counts as contiguous
            Assert.True(TensorMemory.HasDenseRows(gate));
            var inPlace = full(rows, 24, float.NaN);
            packed.MultiplyDenseRowsInto(gate, inPlace);
            var copied = full(rows, 24, float.NaN);
            packed.MultiplyInto(gate.contiguous(), copied);
            Assert.True(inPlace.eq(copied).all().item<bool>(), $"{rows} rows: the in-place product differs from the copy's (NaN counts as different)");
            // The upper half too (its first element is not the buffer's), through the leading-dimension-keeping entry point.
            var up = gateUp.chunk(2, -1)[1].reshape(1, rows, 40);
            Assert.True(packed.Multiply(up).eq(packed.Multiply(up.contiguous())).all().item<bool>());
        }
    }

    [Fact]
    public void Bad_operands_are_refused_before_any_native_call()
    {
        using var scope = NewDisposeScope();
        var weight = randn(8, 4);
        using var packed = PackedMatrix.TryPack(weight, transposed: true)!;
        Assert.Throws<ArgumentException>(() => packed.MultiplyInto(randn(3, 5), empty(3, 8)));                       // wrong input width
        Assert.Throws<ArgumentException>(() => packed.MultiplyInto(randn(3, 4), empty(2, 8)));                       // row counts differ
        Assert.Throws<ArgumentException>(() => packed.MultiplyInto(randn(3, 4), empty(3, 7)));                       // wrong output width
        Assert.Throws<ArgumentException>(() => packed.MultiplyInto(randn(4, 3).t(), empty(3, 8)));                   // strided input
        Assert.Throws<ArgumentException>(() => packed.MultiplyInto(randn(3, 4), empty(8, 3).t()));                   // strided output
        Assert.Throws<ArgumentException>(() => packed.MultiplyInto(randn(3, 4, dtype: ScalarType.Float64), empty(3, 8)));
        packed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => packed.MultiplyInto(randn(3, 4), empty(3, 8)));
        // Not a float32 CPU matrix: nothing to pack, the caller keeps the tensor.
        Assert.Null(PackedMatrix.TryPack(randn(8, 4, dtype: ScalarType.BFloat16), transposed: true));
        Assert.Null(PackedMatrix.TryPack(randn(2, 8, 4), transposed: true));
    }

    [Fact]
    public void Packed_and_unpacked_engines_give_the_same_features()
    {
        var model = EsmcCheckpoint.Open(PrimaryModelDirectory);
        var saes = Saes.Select(s => SaeCheckpoint.Open(s.RepoPath, s.Layer, model.Config, model.Directory)).ToList();
        using var packed = EsmcInferenceEngine.Load(model, saes, "cpu", fullModel: true, backboneDType: null, packCpuWeights: true);
        using var plain = EsmcInferenceEngine.Load(model, saes, "cpu", fullModel: true, backboneDType: null, packCpuWeights: false);
        var tokens = GoldenTokens();
        var request = FullRequest(model.Config.Layers);
        var a = packed.Run(tokens, request);
        var b = plain.Run(tokens, request);
        for (var s = 0; s < tokens.Length; s++)
        {
            foreach (var (layer, rows) in b.Sequences[s].HiddenStates)
                for (var r = 0; r < rows.Length; r++)
                    for (var c = 0; c < rows[r].Length; c++)
                        Assert.True(Math.Abs(rows[r][c] - a.Sequences[s].HiddenStates[layer][r][c]) <= 1e-5 * Math.Max(1, Math.Abs(rows[r][c])), $"seq {s} h[{layer}][{r}][{c}]");
            foreach (var (id, sae) in b.Sequences[s].Saes)
                for (var p = 0; p < sae.Positions.Length; p++)
                {
                    var other = a.Sequences[s].Saes[id].Positions[p];
                    Assert.Equal(sae.Positions[p].Select(f => f.Index), other.Select(f => f.Index));
                    foreach (var (x, y) in sae.Positions[p].Zip(other))
                        Assert.True(Math.Abs(x.Value - y.Value) <= 1e-5 * Math.Max(1, x.Value), $"seq {s} {id} pos {p} feature {x.Index}");
                }
        }
    }
}
