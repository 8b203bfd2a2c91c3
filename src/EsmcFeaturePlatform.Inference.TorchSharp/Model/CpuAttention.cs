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
/// model's shapes. <see cref="EsmcBackbone"/> uses it wherever <see cref="Supports"/> holds, and libtorch's SDPA elsewhere.
/// </summary>
/// <remarks>
/// How: one work item is one head of one sequence. Its real keys and values are first copied into two contiguous
/// [keys, 64] buffers. Then its queries go 32 at a time: the scores of every real key at once, keys along the rows
/// (Sᵀ = K Qᵀ, [keys, 32], with each column's maximum kept on the way), the exponentials down each column (each query is
/// a vector lane, so the maximum and the sum need no reduction across lanes), and the product with v. Padding keys are
/// simply not read: the same result as SDPA's key mask, without the masked scores. Queries at padded positions attend to
/// the real keys, as with SDPA.
/// <para>
/// Why the copy: in the q, k and v products the 64 values of one head's row are 256 bytes every 3,840, so each key is on
/// its own 4 KiB page, and every 32 queries walk all of them twice (scores, then context): by all signs a TLB miss per
/// row, and no help from the hardware prefetcher, which follows strides only within a page (the machine it was measured
/// on exposes no hardware counters, so that cause is inferred; the copy's effect is measured). Copied, a head's keys
/// fill a few pages read in order. At 1,002 tokens the copy alone took the kernel from SDPA's rate to 1.3x it.
/// </para>
/// <para>
/// Why the kernel: libtorch's SDPA on the CPU (flash attention with MKL for the products) ran at a quarter (102 tokens)
/// to about two thirds (1,002 tokens) of the GEMMs' rate here. This kernel's products are register-tiled AVX-512 loops
/// (12 keys x 32 queries for the scores, 6 queries x 64 for the context: 24 accumulators each) on data that stays in
/// cache. BENCHMARKS.md section 7 (session 11) has its rates against SDPA's at 102 to 2,002 tokens.
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
    private const int Queries = 32;        // per tile: two 16-float vectors, one lane per query
    private const int KeysPerTile = 12;    // score tile: 12 keys x 2 vectors of queries = 24 accumulators

    /// <summary>True on a CPU with AVX-512 for float32 CPU tensors with heads of 64: what the backbone decides once at load.</summary>
    public static bool Supports(DeviceType device, ScalarType dtype, int headDim) =>
        Avx512F.IsSupported && headDim == HeadDim && device == DeviceType.CPU && dtype == ScalarType.Float32;

    /// <summary>
    /// Writes attention's output into <paramref name="output"/>, all four contiguous float32 CPU tensors [B, L, H * 64]
    /// (heads side by side in each row, as the q, k and v products come out; anything else is refused, as the kernel reads
    /// them through raw pointers; the CPU must have AVX-512, <see cref="Supports"/>): row (b, i) of head h is the softmax over keys
    /// j &lt; <paramref name="lengths"/>[b] (all L when null) of q·k / 8, times v.
    /// </summary>
    public static void Run(Tensor q, Tensor k, Tensor v, int[]? lengths, Tensor output)
    {
        var batch = (int)q.shape[0];
        var length = (int)q.shape[1];
        var width = (int)q.shape[2];
        var heads = width / HeadDim;
        foreach (var t in new[] { q, k, v, output })
        {
            if (t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32 || !t.is_contiguous() || t.dim() != 3 || t.shape[2] % HeadDim != 0)
                throw new ArgumentException($"Attention needs contiguous float32 CPU tensors [B, L, H * {HeadDim}]; got a {t.dtype} {t.device_type} tensor [{string.Join(", ", t.shape)}]{(t.is_contiguous() ? "" : ", not contiguous")}.");
            if (!t.shape.SequenceEqual(q.shape))
                throw new ArgumentException($"Attention needs q, k, v and output of one shape; got [{string.Join(", ", q.shape)}] and [{string.Join(", ", t.shape)}].");
        }
        if (lengths is not null && (lengths.Length != batch || lengths.Any(n => n < 0 || n > length)))
            throw new ArgumentException($"Attention needs {batch} sequence lengths within 0..{length}.", nameof(lengths));
        var qp = TensorMemory.Address(q);
        var kp = TensorMemory.Address(k);
        var vp = TensorMemory.Address(v);
        var op = TensorMemory.Address(output);
        var items = batch * heads;
        var maxKeys = Math.Max(1, lengths?.Max() ?? length);
        var workers = Math.Max(1, Math.Min(get_num_threads(), items));
        var next = -1;
        void Work()
        {
            var qt = (float*)NativeMemory.AlignedAlloc(HeadDim * Queries * sizeof(float), 64);
            var scores = (float*)NativeMemory.AlignedAlloc((nuint)((maxKeys + KeysPerTile - 1) / KeysPerTile * KeysPerTile * Queries * sizeof(float)), 64);
            var keyRows = (float*)NativeMemory.AlignedAlloc((nuint)(maxKeys * HeadDim * sizeof(float)), 64);
            var valueRows = (float*)NativeMemory.AlignedAlloc((nuint)(maxKeys * HeadDim * sizeof(float)), 64);
            var maxes = stackalloc float[Queries];
            var sums = stackalloc float[Queries];
            try
            {
                int item;
                while ((item = Interlocked.Increment(ref next)) < items)
                {
                    var head = item % heads;
                    var b = item / heads;
                    var keys = lengths?[b] ?? length;
                    var offset = (long)b * length * width + head * HeadDim;
                    if (keys == 0)
                    {
                        for (var r = 0; r < length; r++) new Span<float>(op + offset + (long)r * width, HeadDim).Clear();
                        continue;
                    }
                    CopyHead(kp + offset, width, keys, keyRows);
                    CopyHead(vp + offset, width, keys, valueRows);
                    for (var first = 0; first < length; first += Queries)
                    {
                        var count = Math.Min(Queries, length - first);
                        var queries = qp + offset + (long)first * width;
                        // The next tile's query rows are each on their own page too: ask for them now.
                        for (var r = Queries; r < Math.Min(2 * Queries, length - first); r++) Prefetch(queries + (long)r * width);
                        PackQueries(queries, width, count, qt);
                        Scores(keyRows, keys, qt, scores, maxes);
                        Exponentials(scores, keys, maxes, sums);
                        Context(scores, count, keys, valueRows, sums, op + offset + (long)first * width, width);
                    }
                }
            }
            finally
            {
                NativeMemory.AlignedFree(qt);
                NativeMemory.AlignedFree(scores);
                NativeMemory.AlignedFree(keyRows);
                NativeMemory.AlignedFree(valueRows);
            }
        }
        if (workers == 1) Work();
        else Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ => Work());
        GC.KeepAlive(q);
        GC.KeepAlive(k);
        GC.KeepAlive(v);
        GC.KeepAlive(output);
    }

    /// <summary>rows[j * 64 ..] = source's 64 values of row j, for j &lt; count (source rows stride floats apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyHead(float* source, int stride, int count, float* rows)
    {
        for (var j = 0; j < count; j++, source += stride, rows += HeadDim)
        {
            Vector512.Load(source).Store(rows);
            Vector512.Load(source + 16).Store(rows + 16);
            Vector512.Load(source + 32).Store(rows + 32);
            Vector512.Load(source + 48).Store(rows + 48);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(float* row)
    {
        Sse.Prefetch0(row);
        Sse.Prefetch0(row + 16);
        Sse.Prefetch0(row + 32);
        Sse.Prefetch0(row + 48);
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

    /// <summary>
    /// scores[j * 32 + i] = k[j] · qt[:, i] for j &lt; keys (k: [keys, 64]), 12 keys by 32 queries per tile (keys past the
    /// end repeat the last, which leaves the maximum alone); maxes[i] = the largest score of query i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores(float* k, int keys, float* qt, float* scores, float* maxes)
    {
        var max0 = Vector512.Create(float.NegativeInfinity);
        var max1 = max0;
        for (var j0 = 0; j0 < keys; j0 += KeysPerTile)
        {
            float* k0 = Key(k, j0, keys), k1 = Key(k, j0 + 1, keys), k2 = Key(k, j0 + 2, keys), k3 = Key(k, j0 + 3, keys);
            float* k4 = Key(k, j0 + 4, keys), k5 = Key(k, j0 + 5, keys), k6 = Key(k, j0 + 6, keys), k7 = Key(k, j0 + 7, keys);
            float* k8 = Key(k, j0 + 8, keys), k9 = Key(k, j0 + 9, keys), k10 = Key(k, j0 + 10, keys), k11 = Key(k, j0 + 11, keys);
            Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            Vector512<float> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
            Vector512<float> a80 = default, a81 = default, a90 = default, a91 = default, aA0 = default, aA1 = default, aB0 = default, aB1 = default;
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
                x = Vector512.Create(k8[d]); a80 = Avx512F.FusedMultiplyAdd(x, b0, a80); a81 = Avx512F.FusedMultiplyAdd(x, b1, a81);
                x = Vector512.Create(k9[d]); a90 = Avx512F.FusedMultiplyAdd(x, b0, a90); a91 = Avx512F.FusedMultiplyAdd(x, b1, a91);
                x = Vector512.Create(k10[d]); aA0 = Avx512F.FusedMultiplyAdd(x, b0, aA0); aA1 = Avx512F.FusedMultiplyAdd(x, b1, aA1);
                x = Vector512.Create(k11[d]); aB0 = Avx512F.FusedMultiplyAdd(x, b0, aB0); aB1 = Avx512F.FusedMultiplyAdd(x, b1, aB1);
            }
            var o = scores + (long)j0 * Queries;
            a00.Store(o); a01.Store(o + 16); a10.Store(o + 32); a11.Store(o + 48);
            a20.Store(o + 64); a21.Store(o + 80); a30.Store(o + 96); a31.Store(o + 112);
            a40.Store(o + 128); a41.Store(o + 144); a50.Store(o + 160); a51.Store(o + 176);
            a60.Store(o + 192); a61.Store(o + 208); a70.Store(o + 224); a71.Store(o + 240);
            a80.Store(o + 256); a81.Store(o + 272); a90.Store(o + 288); a91.Store(o + 304);
            aA0.Store(o + 320); aA1.Store(o + 336); aB0.Store(o + 352); aB1.Store(o + 368);
            max0 = Avx512F.Max(max0, Max(Max(Max(a00, a10), Max(a20, a30)), Max(Max(a40, a50), Max(a60, a70)), Max(Max(a80, a90), Max(aA0, aB0))));
            max1 = Avx512F.Max(max1, Max(Max(Max(a01, a11), Max(a21, a31)), Max(Max(a41, a51), Max(a61, a71)), Max(Max(a81, a91), Max(aA1, aB1))));
        }
        max0.Store(maxes);
        max1.Store(maxes + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Avx512F.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Max(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.Max(Avx512F.Max(a, b), c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Key(float* k, int j, int keys) => k + (long)Math.Min(j, keys - 1) * HeadDim;

    /// <summary>Down each column (query) of scores [keys, 32]: p = exp(s - maxes[i]) in place; sums[i] = the column's sum of p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Exponentials(float* scores, int keys, float* maxes, float* sums)
    {
        var max0 = Vector512.Load(maxes);
        var max1 = Vector512.Load(maxes + 16);
        Vector512<float> sum0 = default, sum1 = default;
        var row = scores;
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

    /// <summary>
    /// output[i] = (Σ_j p[j, i] v[j]) / sums[i] for the first count queries (v: [keys, 64]): 6 queries by 64 per tile
    /// while more than 8 remain, then 4 by 64 (32 = 4 x 6 + 2 x 4, no query computed twice).
    /// </summary>
    private static void Context(float* p, int count, int keys, float* v, float* sums, float* output, int outputStride)
    {
        var i0 = 0;
        for (; count - i0 > 8; i0 += 6)
            ContextTile<SixQueries>(p + i0, 6, keys, v, sums + i0, output + (long)i0 * outputStride, outputStride);
        for (; i0 < count; i0 += 4)
            ContextTile<FourQueries>(p + i0, Math.Min(4, count - i0), keys, v, sums + i0, output + (long)i0 * outputStride, outputStride);
    }

    /// <summary>
    /// One context tile of <typeparamref name="TTile"/>'s 4 or 6 queries by 64, the first count of them stored. The tile
    /// width is a type so that the runtime compiles each width separately with its test folded away: one loop body, and
    /// the 4-wide tile keeps no unused accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ContextTile<TTile>(float* weights, int count, int keys, float* v, float* sums, float* output, int outputStride)
        where TTile : struct, IContextTile
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a43 = default, a50 = default, a51 = default, a52 = default, a53 = default;
        var row = v;
        for (var j = 0; j < keys; j++, row += HeadDim, weights += Queries)
        {
            var v0 = Vector512.Load(row); var v1 = Vector512.Load(row + 16); var v2 = Vector512.Load(row + 32); var v3 = Vector512.Load(row + 48);
            var x = Vector512.Create(weights[0]); a00 = Avx512F.FusedMultiplyAdd(x, v0, a00); a01 = Avx512F.FusedMultiplyAdd(x, v1, a01); a02 = Avx512F.FusedMultiplyAdd(x, v2, a02); a03 = Avx512F.FusedMultiplyAdd(x, v3, a03);
            x = Vector512.Create(weights[1]); a10 = Avx512F.FusedMultiplyAdd(x, v0, a10); a11 = Avx512F.FusedMultiplyAdd(x, v1, a11); a12 = Avx512F.FusedMultiplyAdd(x, v2, a12); a13 = Avx512F.FusedMultiplyAdd(x, v3, a13);
            x = Vector512.Create(weights[2]); a20 = Avx512F.FusedMultiplyAdd(x, v0, a20); a21 = Avx512F.FusedMultiplyAdd(x, v1, a21); a22 = Avx512F.FusedMultiplyAdd(x, v2, a22); a23 = Avx512F.FusedMultiplyAdd(x, v3, a23);
            x = Vector512.Create(weights[3]); a30 = Avx512F.FusedMultiplyAdd(x, v0, a30); a31 = Avx512F.FusedMultiplyAdd(x, v1, a31); a32 = Avx512F.FusedMultiplyAdd(x, v2, a32); a33 = Avx512F.FusedMultiplyAdd(x, v3, a33);
            if (TTile.Queries == 6)
            {
                x = Vector512.Create(weights[4]); a40 = Avx512F.FusedMultiplyAdd(x, v0, a40); a41 = Avx512F.FusedMultiplyAdd(x, v1, a41); a42 = Avx512F.FusedMultiplyAdd(x, v2, a42); a43 = Avx512F.FusedMultiplyAdd(x, v3, a43);
                x = Vector512.Create(weights[5]); a50 = Avx512F.FusedMultiplyAdd(x, v0, a50); a51 = Avx512F.FusedMultiplyAdd(x, v1, a51); a52 = Avx512F.FusedMultiplyAdd(x, v2, a52); a53 = Avx512F.FusedMultiplyAdd(x, v3, a53);
            }
        }
        StoreRow(output, a00, a01, a02, a03, sums[0]);
        if (count > 1) StoreRow(output + outputStride, a10, a11, a12, a13, sums[1]);
        if (count > 2) StoreRow(output + 2L * outputStride, a20, a21, a22, a23, sums[2]);
        if (count > 3) StoreRow(output + 3L * outputStride, a30, a31, a32, a33, sums[3]);
        if (count > 4) StoreRow(output + 4L * outputStride, a40, a41, a42, a43, sums[4]);
        if (count > 5) StoreRow(output + 5L * outputStride, a50, a51, a52, a53, sums[5]);
    }

    private interface IContextTile
    {
        static abstract int Queries { get; }
    }

    private struct FourQueries : IContextTile
    {
        public static int Queries => 4;
    }

    private struct SixQueries : IContextTile
    {
        public static int Queries => 6;
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
