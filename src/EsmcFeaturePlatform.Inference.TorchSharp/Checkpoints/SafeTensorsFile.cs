using System.Buffers.Binary;
using System.Text.Json;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

/// <summary>One tensor's header entry. Offsets are absolute file positions (already validated).</summary>
public sealed record SafeTensorEntry(string Name, string DType, long[] Shape, long FileOffset, long ByteLength, string FilePath)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Reads the header of a safetensors file (8-byte little-endian length, JSON, raw row-major data) and
/// validates it completely before any data is used, so that a truncated or corrupt file is an error
/// naming the file and tensor instead of garbage weights or a native crash.
/// </summary>
public sealed class SafeTensorsFile
{
    // Real headers are a few hundred kB at most; a larger value is corruption, not a header.
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private static readonly Dictionary<string, int> DTypeSizes = new(StringComparer.Ordinal)
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2,
        ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
        ["U16"] = 2, ["U32"] = 4, ["U64"] = 8, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
    };

    private SafeTensorsFile(string path, IReadOnlyDictionary<string, SafeTensorEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Entries = entries;
        Metadata = metadata;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, SafeTensorEntry> Entries { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found.");
        long fileLength;
        byte[] headerBytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            fileLength = stream.Length;
            if (fileLength < 8) throw new CheckpointException(path, $"not a safetensors file: {fileLength} bytes, shorter than the 8-byte header length.");
            Span<byte> lengthBytes = stackalloc byte[8];
            stream.ReadExactly(lengthBytes);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (headerLength == 0 || headerLength > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
                throw new CheckpointException(path, $"corrupt or truncated safetensors file: header length {headerLength} does not fit the file of {fileLength} bytes.");
            headerBytes = new byte[headerLength];
            stream.ReadExactly(headerBytes);
        }
        catch (IOException e) when (e is not CheckpointException)
        {
            throw new CheckpointException(path, $"cannot read: {e.Message}", e);
        }

        var dataStart = 8 + headerBytes.Length;
        var dataLength = fileLength - dataStart;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"corrupt safetensors header (invalid JSON: {e.Message}).", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, "corrupt safetensors header: the JSON is not an object.");
            var entries = new Dictionary<string, SafeTensorEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in property.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                entries[property.Name] = ParseEntry(path, property.Name, property.Value, dataStart, dataLength);
            }
            return new SafeTensorsFile(path, entries, metadata);
        }
    }

    private static SafeTensorEntry ParseEntry(string path, string name, JsonElement value, long dataStart, long dataLength)
    {
        CheckpointException Bad(string why) => new(path, $"tensor '{name}': {why}");
        if (value.ValueKind != JsonValueKind.Object) throw Bad("header entry is not an object.");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad("header entry has no dtype.");
        var dtype = dtypeElement.GetString()!;
        if (!DTypeSizes.TryGetValue(dtype, out var elementSize)) throw Bad($"unknown dtype '{dtype}'.");
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad("header entry has no shape.");
        var shape = new List<long>();
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var dim) || dim < 0) throw Bad($"invalid shape {shapeElement.GetRawText()}.");
            shape.Add(dim);
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out var begin) || !offsets[1].TryGetInt64(out var end))
            throw Bad("header entry has no valid data_offsets [begin, end].");
        if (begin < 0 || end < begin)
            throw Bad($"invalid data_offsets [{begin}, {end}].");
        if (end > dataLength)
            throw Bad($"data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes): the file is truncated or corrupt.");
        long elements = 1;
        foreach (var d in shape)
        {
            elements = d == 0 ? 0 : elements > long.MaxValue / Math.Max(1, d) ? throw Bad("shape overflows.") : elements * d;
        }
        if (elements * elementSize != end - begin)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs {elements * elementSize} bytes but data_offsets [{begin}, {end}] hold {end - begin}.");
        return new SafeTensorEntry(name, dtype, [.. shape], dataStart + begin, end - begin, path);
    }

    /// <summary>Reads a tensor's raw bytes (little-endian, row-major).</summary>
    public static byte[] ReadBytes(SafeTensorEntry entry)
    {
        if (entry.ByteLength > Array.MaxLength)
            throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}' ({entry.ByteLength} bytes) is larger than one managed buffer can hold.");
        var buffer = new byte[entry.ByteLength];
        try
        {
            using var handle = File.OpenHandle(entry.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read);
            long done = 0;
            while (done < buffer.Length)
            {
                var read = RandomAccess.Read(handle, buffer.AsSpan((int)done), entry.FileOffset + done);
                if (read == 0) throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}': file ended early (truncated).");
                done += read;
            }
        }
        catch (IOException e) when (e is not CheckpointException)
        {
            throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}': cannot read: {e.Message}", e);
        }
        return buffer;
    }

    /// <summary>Reads a floating-point tensor as float32 values (F32, BF16, F16 or F64).</summary>
    public static float[] ReadFloats(SafeTensorEntry entry)
    {
        var bytes = ReadBytes(entry);
        var count = checked((int)entry.ElementCount);
        var result = new float[count];
        switch (entry.DType)
        {
            case "F32":
                for (var i = 0; i < count; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                break;
            case "BF16":
                for (var i = 0; i < count; i++) result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)) << 16);
                break;
            case "F16":
                for (var i = 0; i < count; i++) result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
                break;
            case "F64":
                for (var i = 0; i < count; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(i * 8));
                break;
            default:
                throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}' has dtype {entry.DType}; a floating-point tensor (F32, BF16, F16) is required.");
        }
        return result;
    }

    public static bool IsFloatingPoint(string dtype) => dtype is "F32" or "BF16" or "F16" or "F64";
}
