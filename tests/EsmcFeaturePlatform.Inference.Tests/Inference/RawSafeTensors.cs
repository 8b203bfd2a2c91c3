using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>Test-side safetensors surgery: rewrite files with other dtypes, tensors or headers, independent of the product writer.</summary>
internal static class RawSafeTensors
{
    public sealed record Tensor(string Name, string DType, long[] Shape, byte[] Data);

    public static List<Tensor> ReadAll(string path)
    {
        var file = SafeTensorsFile.Open(path);
        return file.Entries.Values.OrderBy(e => e.FileOffset).Select(e => new Tensor(e.Name, e.DType, e.Shape, SafeTensorsFile.ReadBytes(e))).ToList();
    }

    public static void Write(string path, IEnumerable<Tensor> tensors, Func<JsonObject, JsonObject>? editHeader = null)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        var list = tensors.ToList();
        foreach (var t in list)
        {
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.Data.Length),
            };
            offset += t.Data.Length;
        }
        if (editHeader is not null) header = editHeader(header);
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var stream = File.Create(path);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        stream.Write(length);
        stream.Write(json);
        foreach (var t in list) stream.Write(t.Data);
    }

    public static float[] Floats(Tensor t) => Enumerable.Range(0, t.Data.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(t.Data.AsSpan(i * 4))).ToArray();

    public static byte[] F32Bytes(IEnumerable<float> values) => values.SelectMany(v => BitConverter.GetBytes(v)).ToArray();

    /// <summary>Round-to-nearest-even float32 to bfloat16 bits.</summary>
    public static ushort ToBf16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static float FromBf16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public static string ConfigWith(string configPath, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        edit(node);
        File.WriteAllText(configPath, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return configPath;
    }
}
