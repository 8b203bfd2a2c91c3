using System.Text.Json;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

/// <summary>ESMC hyper-parameters from config.json, in either spelling (docs/model-math.md, section 5.3).</summary>
public sealed record EsmcModelConfig(int DModel, int Heads, int Layers, int FfnHidden, int VocabRows, double RopeTheta)
{
    public int HeadDim => DModel / Heads;

    /// <summary>Residual updates are divided by s = sqrt(n_layers / 36) (docs/model-math.md, section 3.5).</summary>
    public double ResidueScalingFactor => Math.Sqrt(Layers / 36.0);

    /// <summary>F = int(((8/3) * d + 255) // 256 * 256) (docs/model-math.md, section 3.4).</summary>
    public static int SwiGluHidden(int dModel) => (int)(Math.Floor((8.0 / 3.0 * dModel + 255.0) / 256.0) * 256.0);

    public static EsmcModelConfig Load(string configPath)
    {
        using var document = ConfigJson.Parse(configPath);
        var root = document.RootElement;
        var d = ConfigJson.RequiredInt(root, configPath, "hidden_size", "d_model");
        var heads = ConfigJson.RequiredInt(root, configPath, "num_attention_heads", "n_heads");
        var layers = ConfigJson.RequiredInt(root, configPath, "num_hidden_layers", "n_layers");
        var vocab = ConfigJson.OptionalInt(root, configPath, "vocab_size") ?? 64;
        if (d <= 0 || heads <= 0 || layers <= 0)
            throw new CheckpointException(configPath, $"hidden size ({d}), heads ({heads}) and layers ({layers}) must be positive.");
        if (d % heads != 0)
            throw new CheckpointException(configPath, $"hidden size {d} is not divisible by the number of heads {heads}.");
        if ((d / heads) % 2 != 0)
            throw new CheckpointException(configPath, $"head size {d / heads} is odd; rotary embeddings need an even head size.");
        if (vocab < Tokenization.EsmcTokenizer.VocabularySize)
            throw new CheckpointException(configPath, $"vocab_size {vocab} is smaller than the tokenizer's {Tokenization.EsmcTokenizer.VocabularySize} tokens.");
        var expectedF = SwiGluHidden(d);
        var f = ConfigJson.OptionalInt(root, configPath, "intermediate_size") ?? expectedF;
        if (f != expectedF)
            throw new CheckpointException(configPath, $"intermediate_size {f} disagrees with the ESMC SwiGLU width {expectedF} for hidden size {d}.");
        double theta = 10000.0;
        if (root.TryGetProperty("rope_theta", out var t) && t.ValueKind == JsonValueKind.Number) theta = t.GetDouble();
        else if (root.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object
                 && rp.TryGetProperty("rope_theta", out var t2) && t2.ValueKind == JsonValueKind.Number) theta = t2.GetDouble();
        if (!(theta > 0)) throw new CheckpointException(configPath, $"rope_theta {theta} must be positive.");
        return new EsmcModelConfig(d, heads, layers, f, vocab, theta);
    }
}

/// <summary>An SAE repo's config.json (docs/model-math.md, section 6.2), plus the optional <c>base_model</c> of docs/contracts.md, section 1.</summary>
public sealed record SaeConfig(int DModel, int CodebookSize, int K, IReadOnlyList<int> AvailableLayers, bool? ResidualUpdateFlag, string? BaseModel)
{
    public static SaeConfig Load(string configPath)
    {
        using var document = ConfigJson.Parse(configPath);
        var root = document.RootElement;
        var d = ConfigJson.RequiredInt(root, configPath, "d_model");
        var c = ConfigJson.RequiredInt(root, configPath, "codebook_dim");
        var k = ConfigJson.RequiredInt(root, configPath, "k");
        if (d <= 1) throw new CheckpointException(configPath, $"d_model {d} must be at least 2.");
        if (c <= 0) throw new CheckpointException(configPath, $"codebook_dim {c} must be positive.");
        if (k <= 0 || k > c) throw new CheckpointException(configPath, $"k {k} must be between 1 and codebook_dim {c}.");
        var layers = new List<int>();
        if (root.TryGetProperty("available_layers", out var al))
        {
            if (al.ValueKind != JsonValueKind.Array) throw new CheckpointException(configPath, "available_layers must be a list of integers.");
            foreach (var e in al.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out var layer) || layer < 0)
                    throw new CheckpointException(configPath, $"available_layers entry {e.GetRawText()} is not a non-negative integer.");
                layers.Add(layer);
            }
        }
        else
        {
            layers.Add(0); // the reference's default when the key is absent
        }
        bool? flag = null;
        if (root.TryGetProperty("use_residual_update_instead_of_states", out var f))
        {
            flag = f.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Null => null,
                _ => throw new CheckpointException(configPath, "use_residual_update_instead_of_states must be true or false."),
            };
        }
        string? baseModel = root.TryGetProperty("base_model", out var bm) && bm.ValueKind == JsonValueKind.String ? bm.GetString() : null;
        return new SaeConfig(d, c, k, layers, flag, baseModel);
    }
}

internal static class ConfigJson
{
    public static JsonDocument Parse(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "config.json not found.");
        try
        {
            var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new CheckpointException(path, "config is not a JSON object.");
            }
            return document;
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"invalid JSON: {e.Message}", e);
        }
        catch (IOException e) when (e is not CheckpointException)
        {
            throw new CheckpointException(path, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>The first present key of <paramref name="spellings"/>; several present with different values is an error.</summary>
    public static int RequiredInt(JsonElement root, string path, params string[] spellings)
    {
        int? found = null;
        string? foundKey = null;
        foreach (var key in spellings)
        {
            var value = OptionalInt(root, path, key);
            if (value is null) continue;
            if (found is not null && found != value)
                throw new CheckpointException(path, $"'{foundKey}' ({found}) and '{key}' ({value}) disagree.");
            found ??= value;
            foundKey ??= key;
        }
        return found ?? throw new CheckpointException(path, $"missing required field '{string.Join("' (or '", spellings)}'{(spellings.Length > 1 ? ")" : "")}.");
    }

    public static int? OptionalInt(JsonElement root, string path, string key)
    {
        if (!root.TryGetProperty(key, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v)) return v;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var dv) && dv == Math.Floor(dv) && Math.Abs(dv) < int.MaxValue) return (int)dv;
        throw new CheckpointException(path, $"field '{key}' must be an integer, not {e.GetRawText()}.");
    }
}
