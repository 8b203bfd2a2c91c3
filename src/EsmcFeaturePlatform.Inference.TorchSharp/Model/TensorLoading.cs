using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

internal static class TensorLoading
{
    /// <summary>Reads a weight (concatenating split parts along dim 0) into a tensor of <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public static Tensor Load(WeightSource source, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var parts = source.Parts.Select(p => ReadEntry(p)).ToList();
        var joined = parts.Count == 1 ? parts[0] : cat(parts, 0);
        // When to()/contiguous() are no-ops the result shares storage with the read tensor; that is safe because
        // each TorchSharp handle holds its own reference, and moving the result out keeps it alive (no copy of
        // multi-hundred-MB weights).
        return joined.to(dtype, device).contiguous().MoveToOuterDisposeScope();
    }

    public static Tensor Load(SafeTensorEntry entry, Device device, ScalarType dtype) =>
        Load(new WeightSource(entry.Name, entry.Shape, [entry]), device, dtype);

    private static Tensor ReadEntry(SafeTensorEntry entry)
    {
        var sourceType = entry.DType switch
        {
            "F32" => ScalarType.Float32,
            "BF16" => ScalarType.BFloat16,
            "F16" => ScalarType.Float16,
            "F64" => ScalarType.Float64,
            _ => throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}' has dtype {entry.DType}; F32, BF16 or F16 is required."),
        };
        var bytes = SafeTensorsFile.ReadBytes(entry);
        var tensor = empty(entry.Shape, sourceType);
        if (bytes.Length > 0) tensor.bytes = bytes;
        return tensor;
    }
}
