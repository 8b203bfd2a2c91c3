using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>The address of a float32 CPU tensor's elements, for the few native calls made outside libtorch's operators.</summary>
internal static unsafe class TensorMemory
{
    // TorchSharp's own native export behind TensorAccessor: the address of a tensor's first element. TensorAccessor's
    // copies go element by element (130 ms per 64 MB here), which would cost more than the callers save.
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>
    /// The first element of <paramref name="tensor"/>, which must be a contiguous float32 CPU tensor (anything else
    /// throws: the callers read and write it as one dense block). Valid while the caller keeps the tensor alive.
    /// </summary>
    public static float* Address(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU || tensor.dtype != ScalarType.Float32 || !tensor.is_contiguous())
            throw new ArgumentException($"Expected a contiguous float32 CPU tensor; got {tensor.dtype} on {tensor.device} (contiguous: {tensor.is_contiguous()}).", nameof(tensor));
        return (float*)THSTensor_data(tensor.Handle);
    }

    /// <summary>
    /// True when <paramref name="matrix"/> is a float32 CPU matrix whose rows are each dense, though they may lie apart:
    /// a column slice of a wider matrix, such as the gate half of the gate|up product. BLAS reads such a matrix in place
    /// given the distance between row starts (its leading dimension, <see cref="RowsAddress"/>), so it need not be copied.
    /// </summary>
    public static bool HasDenseRows(Tensor matrix) =>
        matrix.device_type == DeviceType.CPU && matrix.dtype == ScalarType.Float32 && matrix.dim() == 2
        && (matrix.shape[1] <= 1 || matrix.stride(1) == 1)
        && (matrix.shape[0] <= 1 || (matrix.stride(0) >= matrix.shape[1] && matrix.stride(0) <= int.MaxValue));

    /// <summary>
    /// The first element of a matrix with dense rows (<see cref="HasDenseRows"/>; anything else throws) and the number of
    /// elements from one row's start to the next's, at least the row width. Valid while the caller keeps the tensor alive.
    /// </summary>
    public static float* RowsAddress(Tensor matrix, out int rowStride)
    {
        if (!HasDenseRows(matrix))
            throw new ArgumentException($"Expected a float32 CPU matrix with dense rows; got {matrix.dtype} [{string.Join(", ", matrix.shape)}] with strides [{string.Join(", ", matrix.stride())}] on {matrix.device}.", nameof(matrix));
        rowStride = (int)(matrix.shape[0] <= 1 ? Math.Max(1, matrix.shape[1]) : matrix.stride(0));
        return (float*)THSTensor_data(matrix.Handle);
    }
}
