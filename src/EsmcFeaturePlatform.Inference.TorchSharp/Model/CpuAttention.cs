using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// Softmax attention, softmax(q kᵀ / sqrt(d_head)) v over each sequence's real keys, for float32 CPU tensors on AVX-512
/// with heads of 64: the scaled dot-product attention of docs/model-math.md, section 3.3 (step 5), written for this
/// model's shapes. <see cref="EsmcBackbone"/> uses it for batches of at most <see cref="MaxKeys"/> positions where
/// <see cref="Supports"/> holds, and libtorch's SDPA elsewhere.
/// </summary>
/// <remarks>
/// How: one work item is a head of one sequence and a chunk of its queries, taken 32 queries at a time. For those 32 it
/// computes the scores of every real key at once, keys along the rows (Sᵀ = K Qᵀ, [keys, 32]: 128 KB at 1,000 keys, so it
/// stays in the core's cache), takes the softmax down each column (each query is a vector lane, so the maximum and the sum
/// need no reduction across lanes), and multiplies by v. Padding keys are simply not read: the same result as SDPA's
/// key mask, without the masked scores. Queries at padded positions attend to the real keys, as with SDPA.
/// <para>
/// Why: libtorch's SDPA on the CPU (flash attention with MKL for the products) ran at a quarter (102 tokens) to about two
/// thirds (1,002 tokens) of the GEMMs' rate here. This kernel's products are register-tiled AVX-512 loops (8 keys x 32
/// queries for the scores, 4 queries x 64 for the context) on data that stays in cache: 1.4-1.6x SDPA's GFLOP per
/// CPU-second at 102 tokens and 1.1-1.2x at 302,
/// the whole model 5-11% faster per CPU-second at length 300 and on the mixed stream; at 1,002 tokens it read 0.85x to
/// 1.02x of SDPA's (whose flash kernel moves to blocks of 256 queries from 768 on), so longer batches keep SDPA
/// (BENCHMARKS.md section 7, session 10).
/// </para>
/// <para>
/// The loops are compiled fully optimized from their first call (<c>AggressiveOptimization</c>): the runtime's first,
/// unoptimized tier of vector code runs several times slower, and a short job would spend its life in it.
/// </para>
/// <para>
/// Results differ from SDPA's in the last bits: the sums run in another order and exp is Cephes' single-precision
/// polynomial (about 1 ulp; libtorch uses SLEEF's, also about 1 ulp). <c>CpuAttentionTests</c> holds it to SDPA's
/// distance from a float64 reference.
/// </para>
/// </remarks>
internal static unsafe class CpuAttention
{
    private const int HeadDim = 64;
    private const int Queries = 32;          // per tile: two 16-float vectors, one lane per query
    private const int QueriesPerItem = 256;  // a work item: enough to keep a head's k and v in cache across tiles

    /// <summary>
    /// The longest batch (in positions) this kernel takes; longer ones go to SDPA. Measured at 102, 302 and 1,002
    /// positions (faster, faster, not faster); the cut between is where SDPA's flash kernel changes its block size,
    /// not a measured optimum.
    /// </summary>
    public const int MaxKeys = 768;

    /// <summary>True on a CPU with AVX-512 for contiguous float32 CPU tensors [B, L, H * 64].</summary>
    public static bool Supports(Tensor x, int headDim) =>
        Avx512F.IsSupported && headDim == HeadDim && x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32
        && x.is_contiguous() && x.dim() == 3 && x.shape[2] % HeadDim == 0;

    /// <summary>
    /// Writes attention's output into <paramref name="output"/>, all four [B, L, H * 64] (<see cref="Supports"/>; heads
    /// side by side in each row, as the q, k and v products come out): row (b, i) of head h is the softmax over keys
    /// j &lt; <paramref name="lengths"/>[b] (all L when null) of q·k / 8, times v.
    /// </summary>
    public static void Run(Tensor q, Tensor k, Tensor v, int[]? lengths, Tensor output)
    {
        var batch = (int)q.shape[0];
        var length = (int)q.shape[1];
        var width = (int)q.shape[2];
        var heads = width / HeadDim;
        foreach (var t in new[] { k, v, output })
            if (!t.shape.SequenceEqual(q.shape))
                throw new ArgumentException($"Attention needs q, k, v and output of one shape; got [{string.Join(", ", q.shape)}] and [{string.Join(", ", t.shape)}].");
        if (lengths is not null && (lengths.Length != batch || lengths.Any(n => n < 0 || n > length)))
            throw new ArgumentException($"Attention needs {batch} sequence lengths within 0..{length}.", nameof(lengths));
        var qp = TensorMemory.Address(q);
        var kp = TensorMemory.Address(k);
        var vp = TensorMemory.Address(v);
        var op = TensorMemory.Address(output);
        var chunksPerHead = (length + QueriesPerItem - 1) / QueriesPerItem;
        var items = batch * heads * chunksPerHead;
        var maxKeys = lengths?.Max() ?? length;
        var workers = Math.Max(1, Math.Min(get_num_threads(), items));
        var next = -1;
        void Work()
        {
            var qt = (float*)NativeMemory.AlignedAlloc(HeadDim * Queries * sizeof(float), 64);
            var scores = (float*)NativeMemory.AlignedAlloc((nuint)(((maxKeys + 7) & ~7) * Queries * sizeof(float) + 64), 64);
            var sums = stackalloc float[Queries];
            try
            {
                int item;
                while ((item = Interlocked.Increment(ref next)) < items)
                {
                    var chunk = item % chunksPerHead;
                    var head = item / chunksPerHead % heads;
                    var b = item / chunksPerHead / heads;
                    var keys = lengths?[b] ?? length;
                    var offset = (long)b * length * width + head * HeadDim;
                    var end = Math.Min(length, (chunk + 1) * QueriesPerItem);
                    for (var first = chunk * QueriesPerItem; first < end; first += Queries)
                    {
                        var count = Math.Min(Queries, end - first);
                        var target = op + offset + (long)first * width;
                        if (keys == 0)
                        {
                            for (var r = 0; r < count; r++) new Span<float>(target + (long)r * width, HeadDim).Clear();
                            continue;
                        }
                        PackQueries(qp + offset + (long)first * width, width, count, qt);
                        Scores(kp + offset, width, keys, qt, scores);
                        Softmax(scores, keys, sums);
                        Context(scores, count, keys, vp + offset, width, sums, target, width);
                    }
                }
            }
            finally
            {
                NativeMemory.AlignedFree(qt);
                NativeMemory.AlignedFree(scores);
            }
        }
        if (workers == 1) Work();
        else Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ => Work());
        GC.KeepAlive(q);
        GC.KeepAlive(k);
        GC.KeepAlive(v);
        GC.KeepAlive(output);
    }

    /// <summary>qt[d * 32 + i] = q[i, d] / 8 (the 1/sqrt(64) scale, exact in binary); columns past count are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackQueries(float* q, int stride, int count, float* qt)
    {
        const float scale = 0.125f;
        for (var i = 0; i < Queries; i++)
        {
            var row = q + (long)i * stride;
            for (var d = 0; d < HeadDim; d++) qt[d * Queries + i] = i < count ? row[d] * scale : 0f;
        }
    }

    /// <summary>scores[j * 32 + i] = k[j] · qt[:, i] for j &lt; keys, 8 keys by 32 queries per tile (keys past the end repeat the last).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores(float* k, int stride, int keys, float* qt, float* scores)
    {
        for (var j0 = 0; j0 < keys; j0 += 8)
        {
            float* k0 = Key(k, stride, j0, keys), k1 = Key(k, stride, j0 + 1, keys), k2 = Key(k, stride, j0 + 2, keys), k3 = Key(k, stride, j0 + 3, keys);
            float* k4 = Key(k, stride, j0 + 4, keys), k5 = Key(k, stride, j0 + 5, keys), k6 = Key(k, stride, j0 + 6, keys), k7 = Key(k, stride, j0 + 7, keys);
            Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            Vector512<float> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
            var column = qt;
            for (var d = 0; d < HeadDim; d++, column += Queries)
            {
                var b0 = Vector512.Load(column);
                var b1 = Vector512.Load(column + 16);
                var x = Vector512.Create(k0[d]); a00 = Avx512F.FusedMultiplyAdd(x, b0, a00); a01 = Avx512F.FusedMultiplyAdd(x, b1, a01);
                x = Vector512.Create(k1[d]); a10 = Avx512F.FusedMultiplyAdd(x, b0, a10); a11 = Avx512F.FusedMultiplyAdd(x, b1, a11);
                x = Vector512.Create(k2[d]); a20 = Avx512F.FusedMultiplyAdd(x, b0, a20); a21 = Avx512F.FusedMultiplyAdd(x, b1, a21);
                x = Vector512.Create(k3[d]); a30 = Avx512F.FusedMultiplyAdd(x, b0, a30); a31 = Avx512F.FusedMultiplyAdd(x, b1, a31);
                x = Vector512.Create(k4[d]); a40 = Avx512F.FusedMultiplyAdd(x, b0, a40); a41 = Avx512F.FusedMultiplyAdd(x, b1, a41);
                x = Vector512.Create(k5[d]); a50 = Avx512F.FusedMultiplyAdd(x, b0, a50); a51 = Avx512F.FusedMultiplyAdd(x, b1, a51);
                x = Vector512.Create(k6[d]); a60 = Avx512F.FusedMultiplyAdd(x, b0, a60); a61 = Avx512F.FusedMultiplyAdd(x, b1, a61);
                x = Vector512.Create(k7[d]); a70 = Avx512F.FusedMultiplyAdd(x, b0, a70); a71 = Avx512F.FusedMultiplyAdd(x, b1, a71);
            }
            var o = scores + (long)j0 * Queries;
            a00.Store(o); a01.Store(o + 16); a10.Store(o + 32); a11.Store(o + 48);
            a20.Store(o + 64); a21.Store(o + 80); a30.Store(o + 96); a31.Store(o + 112);
            a40.Store(o + 128); a41.Store(o + 144); a50.Store(o + 160); a51.Store(o + 176);
            a60.Store(o + 192); a61.Store(o + 208); a70.Store(o + 224); a71.Store(o + 240);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Key(float* k, int stride, int j, int keys) => k + (long)Math.Min(j, keys - 1) * stride;

    /// <summary>Down each column (query) of scores [keys, 32]: p = exp(s - max) in place; sums[i] = the column's sum of p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Softmax(float* scores, int keys, float* sums)
    {
        var max0 = Vector512.Create(float.NegativeInfinity);
        var max1 = max0;
        var row = scores;
        for (var j = 0; j < keys; j++, row += Queries)
        {
            max0 = Avx512F.Max(max0, Vector512.Load(row));
            max1 = Avx512F.Max(max1, Vector512.Load(row + 16));
        }
        Vector512<float> sum0 = default, sum1 = default;
        row = scores;
        for (var j = 0; j < keys; j++, row += Queries)
        {
            var e0 = Exp(Vector512.Load(row) - max0);
            var e1 = Exp(Vector512.Load(row + 16) - max1);
            e0.Store(row);
            e1.Store(row + 16);
            sum0 += e0;
            sum1 += e1;
        }
        sum0.Store(sums);
        sum1.Store(sums + 16);
    }

    /// <summary>
    /// e^x for x ≤ 0 (Cephes' expf: x = n ln2 + r with ln2 in two parts, e^r by its degree-7 polynomial, 2^n applied by
    /// vscalefps, which also takes results below the float range to 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        x = Avx512F.Max(x, Vector512.Create(-104f));
        var n = Avx512F.RoundScale(x * Vector512.Create(1.44269504088896341f), 0);
        var r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        return Avx512F.Scale(p, n);
    }

    /// <summary>output[i] = (Σ_j p[j, i] v[j]) / sums[i] for the first count queries, 4 queries by 64 per tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Context(float* p, int count, int keys, float* v, int stride, float* sums, float* output, int outputStride)
    {
        for (var i0 = 0; i0 < count; i0 += 4)
        {
            var weights = p + i0;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
            var row = v;
            for (var j = 0; j < keys; j++, row += stride, weights += Queries)
            {
                var v0 = Vector512.Load(row); var v1 = Vector512.Load(row + 16); var v2 = Vector512.Load(row + 32); var v3 = Vector512.Load(row + 48);
                var x = Vector512.Create(weights[0]); a00 = Avx512F.FusedMultiplyAdd(x, v0, a00); a01 = Avx512F.FusedMultiplyAdd(x, v1, a01); a02 = Avx512F.FusedMultiplyAdd(x, v2, a02); a03 = Avx512F.FusedMultiplyAdd(x, v3, a03);
                x = Vector512.Create(weights[1]); a10 = Avx512F.FusedMultiplyAdd(x, v0, a10); a11 = Avx512F.FusedMultiplyAdd(x, v1, a11); a12 = Avx512F.FusedMultiplyAdd(x, v2, a12); a13 = Avx512F.FusedMultiplyAdd(x, v3, a13);
                x = Vector512.Create(weights[2]); a20 = Avx512F.FusedMultiplyAdd(x, v0, a20); a21 = Avx512F.FusedMultiplyAdd(x, v1, a21); a22 = Avx512F.FusedMultiplyAdd(x, v2, a22); a23 = Avx512F.FusedMultiplyAdd(x, v3, a23);
                x = Vector512.Create(weights[3]); a30 = Avx512F.FusedMultiplyAdd(x, v0, a30); a31 = Avx512F.FusedMultiplyAdd(x, v1, a31); a32 = Avx512F.FusedMultiplyAdd(x, v2, a32); a33 = Avx512F.FusedMultiplyAdd(x, v3, a33);
            }
            StoreRow(output + (long)i0 * outputStride, a00, a01, a02, a03, sums[i0]);
            if (i0 + 1 < count) StoreRow(output + (long)(i0 + 1) * outputStride, a10, a11, a12, a13, sums[i0 + 1]);
            if (i0 + 2 < count) StoreRow(output + (long)(i0 + 2) * outputStride, a20, a21, a22, a23, sums[i0 + 2]);
            if (i0 + 3 < count) StoreRow(output + (long)(i0 + 3) * outputStride, a30, a31, a32, a33, sums[i0 + 3]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* o, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, float sum)
    {
        var s = Vector512.Create(1f / sum);
        (a * s).Store(o);
        (b * s).Store(o + 16);
        (c * s).Store(o + 32);
        (d * s).Store(o + 48);
    }
}
