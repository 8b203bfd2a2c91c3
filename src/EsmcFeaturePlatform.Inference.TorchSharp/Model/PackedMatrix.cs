using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// A float32 CPU weight matrix packed once into MKL's internal GEMM layout (<c>cblas_sgemm_pack</c>), so every later
/// product with it (<c>cblas_sgemm_compute</c>) skips the copy of the whole weight that a plain sgemm makes on each call.
/// </summary>
/// <remarks>
/// Why: libtorch's CPU matmul is MKL's sgemm, which repacks the weight into its blocked layout on every call. Packed once
/// (with MKL told to expect a few hundred rows per product), the model's products ran 0.8-1.2x libtorch's per CPU-second
/// one by one and the whole forward with the SAE 1.03-1.06x in an alternating in-process comparison on the 2-vCPU machine type
/// (BENCHMARKS.md section 7, <c>--packing-ab</c>).
/// <para>
/// Same results up to float32 rounding: the packed product sums in MKL's blocking for that row count, not in the order
/// libtorch's call happens to use, so its last bits differ (about 1e-6 relative); it is as close to the exact product as
/// libtorch's (<c>PackedMatrixTests</c> against float64), golden parity holds, and packed and unpacked engines select
/// the same features on the golden and the benchmark sequences.
/// </para>
/// <para>
/// The entry points are MKL's, linked statically into libtorch's CPU library and exported from it; they are looked up
/// through TorchSharp's native library, which depends on it. Where they are missing (a libtorch built without MKL),
/// <see cref="TryPack"/> returns null and callers multiply with the tensor as before. The packed buffer lives in
/// native memory that must not move (MKL's rule) and is freed with this object. MKL asks for 1.3-3.1x the weight's size
/// for ESMC-300M's shapes (a few MB of its own per matrix): 2.59 GB for its 1.27 GB of block and W_enc weights
/// (<see cref="LiveBytes"/>, reported by the benchmark's <c>--packing-ab</c>).
/// </para>
/// </remarks>
internal sealed unsafe class PackedMatrix : IDisposable
{
    // mkl_cblas.h
    private const int RowMajor = 101;
    private const int NoTrans = 111;
    private const int Trans = 112;
    private const int Packed = 151;
    private const int BMatrix = 162;

    // The row count MKL is told to expect when it packs (the products may then have any number of rows): it picks its
    // blocking from it. 256 ran the model's shapes fastest of 1, 64, 256, 1,024 and 4,096 (BENCHMARKS.md section 7).
    private const int ExpectedRows = 256;

    private static readonly Lazy<bool> Available = new(Probe);
    private static long _liveBytes;
    private static long _liveWeightBytes;

    private readonly bool _transposed;
    private readonly int _ld;
    private readonly long _bytes;
    private float* _buffer;

    private PackedMatrix(float* buffer, nuint bytes, long inFeatures, long outFeatures, bool transposed)
    {
        _buffer = buffer;
        _bytes = (long)bytes;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        _transposed = transposed;
        _ld = (int)(transposed ? inFeatures : outFeatures);
    }

    /// <summary>Width of the rows it multiplies (k).</summary>
    public long InFeatures { get; }

    /// <summary>Width of each product row (n).</summary>
    public long OutFeatures { get; }

    /// <summary>Bytes held by every live packed matrix in the process, and the float32 size of the weights they replace.</summary>
    public static (long Packed, long Weights) LiveBytes => (Interlocked.Read(ref _liveBytes), Interlocked.Read(ref _liveWeightBytes));

    /// <summary>True when this libtorch exports MKL's packed GEMM.</summary>
    public static bool IsAvailable => Available.Value;

    /// <summary>
    /// Packs <paramref name="weight"/> (float32, CPU, contiguous) for products <c>x Wᵀ</c> when <paramref name="transposed"/>
    /// (a linear layer's [out, in] weight) or <c>x W</c> otherwise (an [in, out] matrix such as W_enc). Null when MKL's
    /// packed GEMM is not available or the weight is not a float32 CPU matrix; the caller then keeps the tensor.
    /// </summary>
    public static PackedMatrix? TryPack(Tensor weight, bool transposed)
    {
        if (weight.dim() != 2 || weight.dtype != ScalarType.Float32 || weight.device_type != DeviceType.CPU || !IsAvailable) return null;
        if (weight.shape[0] > int.MaxValue || weight.shape[1] > int.MaxValue) return null;
        using var contiguous = weight.contiguous();
        var (outFeatures, inFeatures) = transposed ? (weight.shape[0], weight.shape[1]) : (weight.shape[1], weight.shape[0]);
        var bytes = Mkl.GetSize(BMatrix, ExpectedRows, (int)outFeatures, (int)inFeatures);
        var buffer = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        var packed = new PackedMatrix(buffer, bytes, inFeatures, outFeatures, transposed);
        Interlocked.Add(ref _liveBytes, packed._bytes);
        Interlocked.Add(ref _liveWeightBytes, inFeatures * outFeatures * sizeof(float));
        Mkl.Pack(RowMajor, BMatrix, transposed ? Trans : NoTrans, ExpectedRows, (int)outFeatures, (int)inFeatures, 1f,
            TensorMemory.Address(contiguous), packed._ld, buffer);
        return packed;
    }

    /// <summary>
    /// <paramref name="output"/> = <paramref name="input"/> times this matrix: input [rows, in] with dense rows that may lie
    /// apart (<see cref="TensorMemory.HasDenseRows"/>: a column slice is read in place, not copied) and output [rows, out],
    /// contiguous, both float32 CPU tensors (output's old contents are ignored).
    /// </summary>
    public void MultiplyInto(Tensor input, Tensor output)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (input.dim() != 2 || output.dim() != 2 || input.shape[1] != InFeatures || output.shape[1] != OutFeatures || input.shape[0] != output.shape[0])
            throw new ArgumentException($"Packed product needs input [rows, {InFeatures}] and output [rows, {OutFeatures}]; got [{string.Join(", ", input.shape)}] and [{string.Join(", ", output.shape)}].");
        if (input.shape[0] > int.MaxValue) throw new ArgumentException($"Packed product takes at most {int.MaxValue} rows; got {input.shape[0]}.", nameof(input));
        var rows = (int)input.shape[0];
        if (rows == 0) return;
        var a = TensorMemory.RowsAddress(input, out var lda);
        Mkl.Compute(RowMajor, NoTrans, Packed, rows, (int)OutFeatures, (int)InFeatures, a, lda, _buffer, _ld, 0f, TensorMemory.Address(output), (int)OutFeatures);
        GC.KeepAlive(input);
        GC.KeepAlive(output);
    }

    /// <summary>A fresh [.., out] tensor: <paramref name="input"/> [.., in] times this matrix.</summary>
    public Tensor Multiply(Tensor input)
    {
        using var flat = input.reshape(-1, InFeatures);
        var output = empty([flat.shape[0], OutFeatures], ScalarType.Float32, input.device);
        MultiplyDenseRowsInto(flat, output);
        return output.view([.. input.shape[..^1], OutFeatures]);
    }

    /// <summary>
    /// <see cref="MultiplyInto"/> for any [rows, in] float32 CPU matrix: read in place when its rows are dense, copied first
    /// otherwise. Why in place: the down projection's input is the gate half of the gate|up buffer, rows 2F apart; its
    /// copy was a fresh 80 MB tensor per block at the batch budget, page-faulted anew each time (BENCHMARKS.md, section 7).
    /// </summary>
    public void MultiplyDenseRowsInto(Tensor input, Tensor output)
    {
        var copy = TensorMemory.HasDenseRows(input) ? null : input.contiguous();
        try
        {
            MultiplyInto(copy ?? input, output);
        }
        finally
        {
            copy?.Dispose();
        }
    }

    public void Dispose()
    {
        if (_buffer is null) return;
        NativeMemory.AlignedFree(_buffer);
        _buffer = null;
        Interlocked.Add(ref _liveBytes, -_bytes);
        Interlocked.Add(ref _liveWeightBytes, -InFeatures * OutFeatures * sizeof(float));
    }

    private static bool Probe()
    {
        try
        {
            // Touch libtorch first so that TorchSharp has loaded its native libraries.
            _ = get_num_threads();
            return Mkl.GetSize(BMatrix, 1, 1, 1) > 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    // dlsym on TorchSharp's native library also searches the libraries it depends on (libtorch_cpu, where MKL is).
    private static class Mkl
    {
        [DllImport("LibTorchSharp", EntryPoint = "cblas_sgemm_pack_get_size")]
        public static extern nuint GetSize(int identifier, int m, int n, int k);

        [DllImport("LibTorchSharp", EntryPoint = "cblas_sgemm_pack")]
        public static extern void Pack(int layout, int identifier, int trans, int m, int n, int k, float alpha, float* source, int ld, float* destination);

        [DllImport("LibTorchSharp", EntryPoint = "cblas_sgemm_compute")]
        public static extern void Compute(int layout, int transa, int transb, int m, int n, int k, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);
    }
}
