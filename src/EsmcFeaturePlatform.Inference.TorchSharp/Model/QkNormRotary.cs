using System.Numerics;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// The LayerNorm of q or k followed by the rotary embedding, as one managed pass in place over a float32 CPU tensor, where
/// libtorch's operators make several. <see cref="EsmcBackbone"/> uses it where <see cref="Supports"/> holds and libtorch's
/// operators elsewhere (CUDA, bfloat16, a CPU without vector instructions).
/// </summary>
/// <remarks>
/// Why: q and k have a LayerNorm without a bias, which libtorch's CPU kernel runs as a scalar loop, and the rotary
/// formula is four passes that make three fresh [tokens, d] tensors. At about 8,000 rows, LayerNorm and rotary of q (or k)
/// took 42-128 CPU ms against 9-16 for the fused pass, 3-9% of a block's time for q and k together (BENCHMARKS.md
/// section 7, session 10). The rows are split across libtorch's thread count, like <see cref="Sae.StreamingTopK"/>, and
/// the row loop is compiled fully optimized from its first call (<c>AggressiveOptimization</c>; the runtime's first tier
/// of vector code runs several times slower). The residual update y / s + x was fused the same way and measured no
/// faster than libtorch's two in-place passes (9-15 CPU ms either way), so it stays libtorch's.
/// <para>
/// Results: the rotary arithmetic is libtorch's operation for operation (the same products and sum, each rounded once;
/// .NET never contracts a multiply and an add into one). The LayerNorm sums in its own order and subtracts the mean
/// before scaling ((x - mean) * rstd * w, where libtorch adds an offset: (x * rstd + (-rstd * mean)) * w), so it can
/// differ in the last bit; <c>QkNormRotaryTests</c> holds it to libtorch's distance from a float64 reference.
/// </para>
/// </remarks>
internal static unsafe class QkNormRotary
{
    /// <summary>
    /// True when <paramref name="tensor"/> is a contiguous float32 CPU tensor whose last dimension is whole heads of
    /// <paramref name="headDim"/>, and this CPU multiplies several floats per instruction in units that divide half a head.
    /// </summary>
    public static bool Supports(Tensor tensor, int headDim) =>
        Vector.IsHardwareAccelerated && tensor.device_type == DeviceType.CPU && tensor.dtype == ScalarType.Float32 && tensor.is_contiguous()
        && headDim % 2 == 0 && headDim / 2 % Vector<float>.Count == 0 && tensor.dim() >= 1 && tensor.shape[^1] % headDim == 0;

    /// <summary>
    /// In place on <paramref name="rows"/> [tokens, d] (<see cref="Supports"/>; token t at position t mod
    /// <paramref name="length"/>): each row's LayerNorm with <paramref name="weight"/> [d] and no bias, then rotate-half
    /// RoPE on each head of <paramref name="headDim"/>: y cos + roll(y, headDim/2) sin', with <paramref name="cos"/> and
    /// <paramref name="signedSin"/> [length, headDim] (sin' = [-sin, sin]; docs/model-math.md, section 3.3).
    /// </summary>
    public static void ApplyInPlace(Tensor rows, Tensor weight, Tensor cos, Tensor signedSin, long length, int headDim, double eps)
    {
        var width = (int)rows.shape[^1];
        var count = rows.numel() / width;
        if (weight.numel() != width || cos.numel() != length * headDim || signedSin.numel() != length * headDim)
            throw new ArgumentException($"LayerNorm-rotary needs a [{width}] weight and [{length}, {headDim}] tables; got {weight.numel()}, {cos.numel()} and {signedSin.numel()} elements.");
        var x = TensorMemory.Address(rows);
        var w = TensorMemory.Address(weight);
        var c = TensorMemory.Address(cos);
        var s = TensorMemory.Address(signedSin);
        ForRowChunks(count, (first, end) =>
        {
            var head = stackalloc float[headDim];
            for (var r = first; r < end; r++)
            {
                var position = r % length;
                NormRotaryRow(x + r * width, width, w, c + position * headDim, s + position * headDim, headDim, (float)eps, head);
            }
        });
        GC.KeepAlive(rows);
        GC.KeepAlive(weight);
        GC.KeepAlive(cos);
        GC.KeepAlive(signedSin);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormRotaryRow(float* x, int width, float* w, float* cos, float* sin, int headDim, float eps, float* head)
    {
        var n = Vector<float>.Count;
        var sum = Vector<float>.Zero;
        var i = 0;
        for (; i + n <= width; i += n) sum += Load(x + i);
        var total = Vector.Sum(sum);
        for (; i < width; i++) total += x[i];
        var mean = total / width;
        var meanV = new Vector<float>(mean);
        var squares = Vector<float>.Zero;
        for (i = 0; i + n <= width; i += n)
        {
            var e = Load(x + i) - meanV;
            squares += e * e;
        }
        var squareSum = Vector.Sum(squares);
        for (; i < width; i++) squareSum += (x[i] - mean) * (x[i] - mean);
        var rstd = new Vector<float>(1f / MathF.Sqrt(squareSum / width + eps));
        var half = headDim / 2;
        for (var h = 0; h < width; h += headDim)
        {
            for (var j = 0; j < headDim; j += n) Store(head + j, (Load(x + h + j) - meanV) * rstd * Load(w + h + j));
            for (var j = 0; j < half; j += n)
            {
                var low = Load(head + j);
                var high = Load(head + half + j);
                Store(x + h + j, low * Load(cos + j) + high * Load(sin + j));
                Store(x + h + half + j, high * Load(cos + half + j) + low * Load(sin + half + j));
            }
        }
    }

    /// <summary>Runs <paramref name="body"/>(first, end) over [0, count) in one chunk per libtorch thread.</summary>
    private static void ForRowChunks(long count, Action<long, long> body)
    {
        var chunks = (int)Math.Min(Math.Max(1, get_num_threads()), count);
        if (chunks <= 1)
        {
            if (count > 0) body(0, count);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, k => body(count * k / chunks, count * (k + 1) / chunks));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);
}
