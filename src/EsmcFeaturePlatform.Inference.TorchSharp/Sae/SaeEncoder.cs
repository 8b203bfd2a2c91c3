using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Sae;

/// <summary>Top-k output of a block of SAE input rows, already in managed memory.</summary>
internal sealed record SaeRowsResult(int Rows, int K, float[] Values, long[] Indices, float[]? ReconstructionMse)
{
    /// <summary>Row <paramref name="row"/> as a feature list: zeros dropped, value descending then index ascending (docs/model-math.md, section 6.4).</summary>
    public FeatureActivation[] Row(int row)
    {
        var list = new List<FeatureActivation>(K);
        for (var j = 0; j < K; j++)
        {
            var v = Values[row * K + j];
            if (v > 0) list.Add(new FeatureActivation((int)Indices[row * K + j], v));
        }
        list.Sort(FeatureMath.CompareFeatureOrder);
        return [.. list];
    }
}

/// <summary>
/// One Biohub TopK SAE layer in float32 (docs/model-math.md, section 6.4): z-score each row with the unbiased std + 1e-5,
/// subtract b_dec, multiply by W_enc, ReLU, keep the k largest. No encoder bias.
/// </summary>
internal sealed class SaeEncoder : IDisposable
{
    // Bounds the dense [rows, C] activation block: 16M floats = 64 MB whatever the codebook size.
    private const long MaxActivationElements = 16L << 20;

    private readonly Tensor _wEnc;
    private readonly Tensor _wDec;
    private readonly Tensor _bDec;
    private Tensor? _decoderNorms;

    private SaeEncoder(SaeCheckpoint checkpoint, Tensor wEnc, Tensor wDec, Tensor bDec)
    {
        Checkpoint = checkpoint;
        _wEnc = wEnc;
        _wDec = wDec;
        _bDec = bDec;
    }

    public SaeCheckpoint Checkpoint { get; }

    public static SaeEncoder Load(SaeCheckpoint checkpoint, Device device)
    {
        Tensor? wEnc = null, wDec = null;
        try
        {
            wEnc = Model.TensorLoading.Load(checkpoint.Tensors["W_enc"], device, ScalarType.Float32);
            wDec = Model.TensorLoading.Load(checkpoint.Tensors["W_dec"], device, ScalarType.Float32);
            var bDec = Model.TensorLoading.Load(checkpoint.Tensors["b_dec"], device, ScalarType.Float32);
            return new SaeEncoder(checkpoint, wEnc, wDec, bDec);
        }
        catch
        {
            wEnc?.Dispose();
            wDec?.Dispose();
            throw;
        }
    }

    /// <summary>Encodes rows <paramref name="inputs"/> [N, d] (float32, on the SAE's device).</summary>
    public SaeRowsResult Encode(Tensor inputs, bool reconstructionError)
    {
        var rows = (int)inputs.shape[0];
        var d = inputs.shape[1];
        var k = Checkpoint.Config.K;
        if (d != Checkpoint.Config.DModel)
            throw new InvalidOperationException($"SAE {Checkpoint.Id} expects rows of width {Checkpoint.Config.DModel}, got {d}.");
        var values = new float[rows * k];
        var indices = new long[rows * k];
        var mse = reconstructionError ? new float[rows] : null;
        var chunk = (int)Math.Max(1, MaxActivationElements / Checkpoint.Config.CodebookSize);
        for (var start = 0; start < rows; start += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, rows - start);
            var x = inputs.narrow(0, start, n);
            var centered = x - x.mean([-1L], keepdim: true);
            var std = centered.square().sum(-1, keepdim: true).DividedBy(d - 1).sqrt();
            var z = centered / std.Plus(1e-5);
            // ReLU after the selection, on k values instead of the whole [rows, C] block: ReLU is monotone, so the k
            // largest of relu(a) are the k largest of a with negatives turned to zero, and zeros are dropped from
            // feature lists anyway (one fewer pass over 64 MB per chunk).
            var activations = mm(z - _bDec, _wEnc);
            var (preValues, topIndices) = activations.topk(k, dim: -1, largest: true, sorted: true);
            var topValues = nn.functional.relu(preValues);
            topValues.cpu().data<float>().ToArray().CopyTo(values, start * k);
            topIndices.cpu().data<long>().ToArray().CopyTo(indices, start * k);
            if (mse is not null)
            {
                var sparse = zeros_like(activations).scatter_(1, topIndices, topValues);
                var reconstruction = mm(sparse, _wDec).Plus(_bDec);
                (reconstruction - z).square().mean([-1L]).cpu().data<float>().ToArray().CopyTo(mse, start);
            }
        }
        return new SaeRowsResult(rows, k, values, indices, mse);
    }

    /// <summary>Nearest features by decoder cosine (see <see cref="DecoderNeighbors"/>); row norms are computed once and kept.</summary>
    public DecoderNeighbor[][] NearestByDecoder(IReadOnlyList<int> features, int count)
    {
        _decoderNorms ??= DecoderNeighbors.RowNorms(_wDec);
        return DecoderNeighbors.Nearest(_wDec, _decoderNorms, features, count);
    }

    public void Dispose()
    {
        _decoderNorms?.Dispose();
        _wEnc.Dispose();
        _wDec.Dispose();
        _bDec.Dispose();
    }
}
