using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Sae;

/// <summary>
/// Nearest features by decoder cosine. Only the row norms are cached (codebook floats, 512 KB at c = 131,072):
/// a normalised copy of W_dec would double the SAE's largest tensor (1.34 GB at d = 2560) to save a division,
/// while the [c, d] x [d, n] product itself must read all of W_dec per call either way (BENCHMARKS.md section 4).
/// A batch of n features costs one pass over W_dec, so callers should ask for a page of features at once.
/// </summary>
internal static class DecoderNeighbors
{
    // Bounds the dense [c, n] cosine block: 16M floats = 64 MB whatever the codebook size.
    private const long MaxCosineElements = 16L << 20;

    /// <summary>L2 norm of each decoder row, computed by row blocks so no [c, d] temporary is ever allocated.</summary>
    public static Tensor RowNorms(Tensor wDec)
    {
        var rows = wDec.shape[0];
        var norms = empty(rows, dtype: ScalarType.Float32, device: wDec.device);
        const long block = 8192;
        for (long start = 0; start < rows; start += block)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(block, rows - start);
            norms.narrow(0, start, n).copy_(wDec.narrow(0, start, n).norm(1));
        }
        return norms;
    }

    /// <summary>For each feature, the <paramref name="count"/> other rows of <paramref name="wDec"/> with the highest cosine, highest first.</summary>
    public static DecoderNeighbor[][] Nearest(Tensor wDec, Tensor norms, IReadOnlyList<int> features, int count)
    {
        var codebook = wDec.shape[0];
        var k = (int)Math.Min(count, codebook - 1);
        var result = new DecoderNeighbor[features.Count][];
        if (k <= 0)
        {
            for (var i = 0; i < result.Length; i++) result[i] = [];
            return result;
        }
        var chunk = (int)Math.Max(1, MaxCosineElements / codebook);
        for (var start = 0; start < features.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(chunk, features.Count - start);
            var ids = tensor(features.Skip(start).Take(n).Select(f => (long)f).ToArray(), device: wDec.device);
            var queries = wDec.index_select(0, ids);                                  // [n, d]
            var dots = mm(wDec, queries.t());                                          // [c, n]
            // A dead (all-zero) row has no direction: its cosine with anything is taken as 0, not NaN.
            var denominator = (norms.unsqueeze(1) * norms.index_select(0, ids).unsqueeze(0)).AtLeast(1e-12);
            var cosine = dots.div_(denominator);
            cosine.scatter_(0, ids.unsqueeze(0), ScalarOps.Filled([1, n], float.NegativeInfinity, wDec.device));   // never a feature's own neighbour
            var (values, indices) = cosine.topk(k, dim: 0, largest: true, sorted: true); // [k, n]
            var v = values.t().contiguous().cpu().data<float>().ToArray();
            var idx = indices.t().contiguous().cpu().data<long>().ToArray();
            for (var j = 0; j < n; j++)
            {
                var row = new DecoderNeighbor[k];
                for (var r = 0; r < k; r++) row[r] = new DecoderNeighbor((int)idx[j * k + r], v[j * k + r]);
                result[start + j] = row;
            }
        }
        return result;
    }
}
