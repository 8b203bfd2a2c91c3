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
/// <remarks>
/// The encoder matmul runs on blocks of up to <see cref="MaxActivationElements"/> activations (64 MB) in a reused buffer:
/// up to 1,024 rows against one slice of W_enc's columns at a time (16,384 features), each block handed to the top-k
/// selection (<see cref="StreamingTopK"/> on the CPU, which carries each row's k largest across the slices; on CUDA the
/// top k of each slice and then of those candidates, since a row's k largest are always among the k largest of the
/// slice that holds them). Why slices: an unpacked MKL product repacks W_enc (250 MB at 65,536 features) on every call,
/// so the more rows per call the less packing per row; 1,024 rows x 16,384 features ran the matmul and a top-k 10-24%
/// faster per CPU-second than 256 rows x 65,536 in the same 64 MB (BENCHMARKS.md, section 7). On the CPU the slices are
/// packed once at load (<see cref="PackedMatrix"/>), and the slice shape stays: it is the one the selection was tuned and
/// tested on.
/// </remarks>
internal sealed class SaeEncoder : IDisposable
{
    // Bounds the dense activation block: 16M floats = 64 MB whatever the codebook size.
    private const long MaxActivationElements = 16L << 20;
    private const int MaxSliceFeatures = 16_384;

    private readonly LinearWeight[] _wEncSlices;
    private readonly Tensor _wDec;
    private readonly Tensor _bDec;
    private readonly Workspace _workspace = new();
    private Tensor? _decoderNorms;

    private SaeEncoder(SaeCheckpoint checkpoint, LinearWeight[] wEncSlices, Tensor wDec, Tensor bDec)
    {
        Checkpoint = checkpoint;
        _wEncSlices = wEncSlices;
        _wDec = wDec;
        _bDec = bDec;
    }

    public SaeCheckpoint Checkpoint { get; }

    /// <summary>Loads the SAE's tensors in float32; with <paramref name="packWeights"/> W_enc is packed for MKL on the CPU (<see cref="PackedMatrix"/>).</summary>
    public static SaeEncoder Load(SaeCheckpoint checkpoint, Device device, bool packWeights = false)
    {
        var slices = new List<LinearWeight>();
        Tensor? wDec = null;
        try
        {
            using (var wEnc = Model.TensorLoading.Load(checkpoint.Tensors["W_enc"], device, ScalarType.Float32))
            {
                var features = wEnc.shape[1];
                var width = Math.Min(features, MaxSliceFeatures);
                for (long first = 0; first < features; first += width)
                {
                    using var columns = wEnc.narrow(1, first, Math.Min(width, features - first));
                    slices.Add(LinearWeight.CreateFromColumns(columns.contiguous(), packWeights));
                }
            }
            wDec = Model.TensorLoading.Load(checkpoint.Tensors["W_dec"], device, ScalarType.Float32);
            var bDec = Model.TensorLoading.Load(checkpoint.Tensors["b_dec"], device, ScalarType.Float32);
            return new SaeEncoder(checkpoint, [.. slices], wDec, bDec);
        }
        catch
        {
            foreach (var slice in slices) slice.Dispose();
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
        // Equal row blocks (never a thin remainder: a 40-row matmul still repacks all of W_enc).
        var maxRows = (int)Math.Max(1, MaxActivationElements / _wEncSlices[0].OutFeatures);
        var blocks = Math.Max(1, (rows + maxRows - 1) / maxRows);
        var blockRows = (rows + blocks - 1) / blocks;
        for (var start = 0; start < rows; start += blockRows)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(blockRows, rows - start);
            var x = inputs.narrow(0, start, n);
            var centered = x - x.mean([-1L], keepdim: true);
            var std = centered.square().sum(-1, keepdim: true).DividedBy(d - 1).sqrt();
            var z = centered / std.Plus(1e-5);
            var shifted = z - _bDec;
            Tensor topIndices, topValues;
            if (shifted.device_type == DeviceType.CPU)
            {
                var selection = new StreamingTopK(n, k, values, indices, start * k, get_num_threads());
                ForEachSlice(shifted, selection.Add);
                selection.Finish();
                // ReLU after the selection, on k values per row instead of the whole activation block: ReLU is monotone,
                // so the k largest of relu(a) are the k largest of a with negatives turned to zero, and zeros are
                // dropped from feature lists anyway.
                for (var i = start * k; i < (start + n) * k; i++) values[i] = Math.Max(values[i], 0f);
                if (mse is null) continue;
                topValues = tensor(values.AsSpan(start * k, n * k).ToArray(), [n, k], device: shifted.device);
                topIndices = tensor(indices.AsSpan(start * k, n * k).ToArray(), [n, k], device: shifted.device);
            }
            else
            {
                (topValues, topIndices) = TopKOnDevice(shifted, k);
                topValues = nn.functional.relu(topValues);
                topValues.cpu().data<float>().ToArray().CopyTo(values, start * k);
                topIndices.cpu().data<long>().ToArray().CopyTo(indices, start * k);
            }
            if (mse is not null) ReconstructionMse(z, topIndices, topValues).CopyTo(mse, start);
        }
        return new SaeRowsResult(rows, k, values, indices, mse);
    }

    /// <summary>
    /// Runs the encoder matmul of <paramref name="shifted"/> (z - b_dec) one W_enc slice at a time into the reused
    /// activation buffer and hands each [rows, slice width] block, with its first feature index, to <paramref name="take"/>.
    /// </summary>
    private void ForEachSlice(Tensor shifted, Action<Tensor, long> take)
    {
        long offset = 0;
        foreach (var slice in _wEncSlices)
        {
            var activations = _workspace.Rows("activations", shifted.shape[0], slice.OutFeatures, ScalarType.Float32, shifted.device);
            slice.ApplyInto(shifted, activations);
            take(activations, offset);
            offset += slice.OutFeatures;
        }
    }

    /// <summary>
    /// The k largest pre-ReLU activations per row, sorted descending, with <c>torch.topk</c> on the tensors' device (CUDA;
    /// the CPU uses <see cref="StreamingTopK"/>): the k largest of each slice, then the k largest of those candidates.
    /// </summary>
    private (Tensor Values, Tensor Indices) TopKOnDevice(Tensor shifted, int k)
    {
        var candidateValues = new List<Tensor>(_wEncSlices.Length);
        var candidateIndices = new List<Tensor>(_wEncSlices.Length);
        ForEachSlice(shifted, (activations, offset) =>
        {
            var (v, i) = activations.topk((int)Math.Min(k, activations.shape[1]), dim: -1, largest: true, sorted: true);
            candidateValues.Add(v);
            candidateIndices.Add(i.Plus(offset));
        });
        var (values, positions) = cat(candidateValues, 1).topk(k, dim: -1, largest: true, sorted: true);
        return (values, cat(candidateIndices, 1).gather(1, positions));
    }

    /// <summary>Per-row MSE of the reconstruction from the selected features against <paramref name="z"/>, in row blocks of at most 64 MB of dense codes.</summary>
    private float[] ReconstructionMse(Tensor z, Tensor topIndices, Tensor topValues)
    {
        var n = z.shape[0];
        var features = Checkpoint.Config.CodebookSize;
        var step = Math.Max(1, MaxActivationElements / features);
        var result = new float[n];
        for (long start = 0; start < n; start += step)
        {
            using var scope = NewDisposeScope();
            var m = Math.Min(step, n - start);
            var sparse = zeros(m, features, ScalarType.Float32, z.device).scatter_(1, topIndices.narrow(0, start, m), topValues.narrow(0, start, m));
            var reconstruction = mm(sparse, _wDec).Plus(_bDec);
            (reconstruction - z.narrow(0, start, m)).square().mean([-1L]).cpu().data<float>().ToArray().CopyTo(result, start);
        }
        return result;
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
        _workspace.Dispose();
        foreach (var slice in _wEncSlices) slice.Dispose();
        _wDec.Dispose();
        _bDec.Dispose();
    }
}
