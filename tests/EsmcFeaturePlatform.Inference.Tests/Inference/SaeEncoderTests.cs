using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Sae;
using Xunit;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// The SAE encoder's blocked selection (row blocks of at most 64 MB of activations, W_enc in slices of 16,384 features,
/// the top k of each slice merged) against one dense top-k over every feature, written here as the model math states it
/// (docs/model-math.md, section 6.4). The golden SAEs are too small to have more than one slice, so this SAE has 40,000
/// features (two full slices and a ragged one) and 1,500 rows (two row blocks); with W_enc packed for MKL and without.
/// </summary>
public sealed class SaeEncoderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"esmc-sae-slices-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Blocked_selection_equals_one_dense_topk_over_all_features(bool packWeights)
    {
        var size = new DemoModelSize("ESMC-slices", 64, 4, 2, 1, 40_000, 32);
        var repo = DemoModel.Create(_root, size)[0].Split('/')[0];
        var checkpoint = SaeCheckpoint.Open(Path.Combine(_root, repo), size.SaeLayer);
        using var encoder = SaeEncoder.Load(checkpoint, CPU, packWeights);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        manual_seed(18);
        var rows = randn(1500, size.DModel) * 3;

        var result = encoder.Encode(rows, reconstructionError: true);

        // The reference: z-score, minus b_dec, W_enc over all 40,000 features, ReLU, one top-k.
        var wEnc = TensorLoading.Load(checkpoint.Tensors["W_enc"], CPU, ScalarType.Float32);
        var wDec = TensorLoading.Load(checkpoint.Tensors["W_dec"], CPU, ScalarType.Float32);
        var bDec = TensorLoading.Load(checkpoint.Tensors["b_dec"], CPU, ScalarType.Float32);
        var centered = rows - rows.mean([-1L], keepdim: true);
        var z = centered / (centered.std(-1, unbiased: true, keepdim: true) + 1e-5);
        var dense = nn.functional.relu((z - bDec).mm(wEnc));
        var (expectedValues, expectedIndices) = dense.topk(size.K, dim: -1);
        var values = expectedValues.data<float>().ToArray();
        var indices = expectedIndices.data<long>().ToArray();
        var reconstruction = zeros_like(dense).scatter_(1, expectedIndices, expectedValues).mm(wDec) + bDec;
        var expectedMse = (reconstruction - z).square().mean([-1L]).data<float>().ToArray();

        Assert.Equal(1500, result.Rows);
        var slicesSeen = new HashSet<long>();
        for (var r = 0; r < 1500; r++)
        {
            var expected = Enumerable.Range(0, size.K).Select(j => (Index: (int)indices[r * size.K + j], Value: values[r * size.K + j])).Where(p => p.Value > 0).ToList();
            var actual = result.Row(r);
            Assert.Equal(expected.Select(p => p.Index).Order(), actual.Select(f => f.Index).Order());
            foreach (var f in actual)
            {
                Assert.Equal(expected.Single(p => p.Index == f.Index).Value, f.Value, 1e-4f);
                slicesSeen.Add(f.Index / 16_384);
            }
            Assert.Equal(expectedMse[r], result.ReconstructionMse![r], 1e-4f);
        }
        Assert.Equal([0L, 1L, 2L], slicesSeen.Order());   // every slice, the ragged last one included, contributed features
    }

    [Fact]
    public void Streaming_selection_keeps_the_lower_index_on_ties_and_never_selects_NaN()
    {
        using var scope = NewDisposeScope();
        // Two rows over two column blocks of 20 (so the vector scan and its scalar tail both run): row 0 has ties at the
        // k-th value across the blocks; row 1 is NaN but for two values, so it is padded.
        var first = zeros(2, 20);
        var second = zeros(2, 20);
        first[0, 3] = tensor(5f); first[0, 7] = tensor(2f); first[0, 19] = tensor(2f);
        second[0, 0] = tensor(2f); second[0, 17] = tensor(9f);
        first[1] = full(20, float.NaN); second[1] = full(20, float.NaN);
        first[1, 4] = tensor(1f); second[1, 18] = tensor(3f);
        const int k = 3;
        var values = new float[2 * k];
        var indices = new long[2 * k];
        var selection = new StreamingTopK(2, k, values, indices, offset: 0, threads: 2);
        selection.Add(first, 0);
        selection.Add(second, 20);
        selection.Finish();

        // 9 (index 37), 5 (3), then the 2 at the lowest index (7) of the three tied 2s (7, 19, 20).
        Assert.Equal([9f, 5f, 2f], values[..k]);
        Assert.Equal([37L, 3L, 7L], indices[..k]);
        // 3 (38), 1 (4), then padding: -infinity at the lowest unused index, which ReLU turns into a dropped zero.
        Assert.Equal([3f, 1f, float.NegativeInfinity], values[k..]);
        Assert.Equal([38L, 4L, 0L], indices[k..]);
    }
}
