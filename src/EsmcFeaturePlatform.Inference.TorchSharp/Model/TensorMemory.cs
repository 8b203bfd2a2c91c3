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
}
