using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

/// <summary>
/// A float32 tensor to write. <see cref="Fill"/> is called with consecutive chunks of the row-major data
/// (the second argument is the index of the chunk's first element), so multi-GB checkpoints are written
/// without holding a whole tensor in memory.
/// </summary>
public sealed record SafeTensorSpec(string Name, long[] Shape, Action<Span<float>, long> Fill)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public static SafeTensorSpec FromArray(string name, long[] shape, float[] values) =>
        new(name, shape, (chunk, start) => values.AsSpan((int)start, chunk.Length).CopyTo(chunk));
}

/// <summary>Writes float32 safetensors files, streaming, through a temporary file renamed into place.</summary>
public static class SafeTensorsWriter
{
    private const int ChunkElements = 1 << 20;

    public static void WriteF32(string path, IReadOnlyList<SafeTensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!names.Add(t.Name)) throw new ArgumentException($"Duplicate tensor name '{t.Name}'.", nameof(tensors));

        var header = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["__metadata__"] = metadata ?? new Dictionary<string, string> { ["format"] = "pt" },
        };
        long offset = 0;
        foreach (var t in tensors)
        {
            var bytes = t.ElementCount * 4;
            header[t.Name] = new { dtype = "F32", shape = t.Shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        // Pad the header with spaces to 8 bytes so the data buffer is aligned, as the reference writer does.
        var paddedLength = (json.Length + 7) / 8 * 8;
        var headerBytes = new byte[paddedLength];
        Array.Fill(headerBytes, (byte)' ');
        json.CopyTo(headerBytes, 0);

        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = path + ".partial";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)headerBytes.Length);
            stream.Write(lengthBytes);
            stream.Write(headerBytes);
            var chunk = new float[ChunkElements];
            var chunkBytes = new byte[ChunkElements * 4];
            foreach (var t in tensors)
            {
                var total = t.ElementCount;
                for (long start = 0; start < total; start += ChunkElements)
                {
                    var n = (int)Math.Min(ChunkElements, total - start);
                    var span = chunk.AsSpan(0, n);
                    t.Fill(span, start);
                    for (var i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(chunkBytes.AsSpan(i * 4), span[i]);
                    stream.Write(chunkBytes, 0, n * 4);
                }
            }
        }
        File.Move(temporary, path, overwrite: true);
    }
}
