using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// Output buffers for the inference path's largest matmul results, kept from one batch to the next and written with
/// <c>addmm_(…, beta: 0)</c> instead of a fresh tensor per call.
/// </summary>
/// <remarks>
/// Why: glibc serves large allocations from fresh mappings (over its mmap threshold, or over the 64 MB a thread's own
/// heap holds), so a fresh [8,192 tokens, 5,120] FFN output (168 MB) is page-faulted and zeroed anew in every block of
/// every batch. With <c>beta = 0</c> libtorch ignores the buffer's old contents and calls the same GEMM as
/// <c>linear</c>/<c>mm</c>, so results are unchanged. (With packed weights, <see cref="LinearWeight"/>, the product goes
/// through MKL's packed GEMM instead, into the same buffers.) Until session 9 the device check compared TorchSharp
/// <c>Device</c> objects, which have no value equality, so every call reallocated; fixed, together with the down
/// projection reading the gate half in place, the kernel's share of the inference threads' samples fell from about 8%
/// to 2% (BENCHMARKS.md, section 7, session 9). A buffer only grows (to the largest batch seen, bounded by the batch
/// token budget) and lives as long as its owner. Not thread-safe, like the engine that owns it: views of a slot are
/// valid until the next <see cref="Rows"/> call for that slot.
/// </remarks>
internal sealed class Workspace : IDisposable
{
    private readonly Dictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);

    /// <summary>A [<paramref name="rows"/>, <paramref name="columns"/>] view of slot <paramref name="slot"/>'s buffer (contents undefined).</summary>
    public Tensor Rows(string slot, long rows, long columns, ScalarType dtype, Device device)
    {
        var needed = rows * columns;
        // Devices compared by type and index: TorchSharp's Device has no value equality and each tensor.device is a new
        // object, so comparing the objects reallocated every buffer on every call (as the code did until session 9).
        if (!_buffers.TryGetValue(slot, out var buffer) || buffer.numel() < needed || buffer.dtype != dtype
            || buffer.device_type != device.type || buffer.device_index != device.index)
        {
            buffer?.Dispose();
            // Outside every dispose scope: the buffer outlives the batch that first needed it.
            buffer = empty([needed], dtype, device).DetachFromDisposeScope();
            _buffers[slot] = buffer;
        }
        return buffer.narrow(0, 0, needed).view(rows, columns);
    }

    /// <summary><c>input @ weightᵀ</c> (what <c>linear(input, weight)</c> computes) into slot <paramref name="slot"/>: [.., in] x [out, in] → [.., out].</summary>
    public Tensor Linear(string slot, Tensor input, LinearWeight weight)
    {
        var width = input.shape[^1];
        var rows = input.numel() / width;
        var output = Rows(slot, rows, weight.OutFeatures, input.dtype, input.device);
        weight.ApplyInto(input.reshape(rows, width), output);
        return output.view([.. input.shape[..^1], weight.OutFeatures]);
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers.Values) buffer.Dispose();
        _buffers.Clear();
    }
}
