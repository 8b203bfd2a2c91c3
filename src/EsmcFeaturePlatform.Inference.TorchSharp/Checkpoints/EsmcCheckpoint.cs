using System.Text.Json;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

/// <summary>The three tensor layouts of docs/model-math.md, section 5.4.</summary>
public enum CheckpointLayout
{
    /// <summary>esm native (<c>transformer.blocks.i.attn.layernorm_qkv.0.weight</c>).</summary>
    EsmNative,

    /// <summary>HF research / Transformer Engine (<c>...layernorm_qkv.layer_norm_weight</c>, fused q|k|v).</summary>
    HfResearch,

    /// <summary>HF split / published (<c>layers.i.self_attn.q_proj.weight</c>).</summary>
    HfSplit,
}

/// <summary>
/// One internal weight and the checkpoint tensors it is made of (several for layout C's split q/k/v and
/// gate/up, concatenated along dim 0).
/// </summary>
public sealed record WeightSource(string Role, long[] Shape, IReadOnlyList<SafeTensorEntry> Parts);

/// <summary>Weights of one transformer block, by role.</summary>
public sealed record BlockSources(
    WeightSource AttnNormWeight, WeightSource AttnNormBias, WeightSource Qkv, WeightSource QNorm, WeightSource KNorm,
    WeightSource AttnOut, WeightSource FfnNormWeight, WeightSource FfnNormBias, WeightSource FfnIn, WeightSource FfnOut);

public sealed record HeadSources(WeightSource DenseWeight, WeightSource DenseBias, WeightSource NormWeight, WeightSource NormBias, WeightSource DecoderWeight, WeightSource DecoderBias);

/// <summary>
/// A validated ESMC checkpoint folder: config plus every tensor located and shape-checked from the
/// safetensors headers alone. Opening is cheap (no weights are read), so a model root can be checked
/// at start-up and the weights loaded later on the inference thread. All shape checks happen here
/// because a mismatched matmul in TorchSharp aborts the process instead of throwing.
/// </summary>
public sealed class EsmcCheckpoint
{
    public const string IndexFileName = "model.safetensors.index.json";
    public const string SingleFileName = "model.safetensors";

    private EsmcCheckpoint(string directory, EsmcModelConfig config, CheckpointLayout layout, WeightSource embedding,
        IReadOnlyList<BlockSources> blocks, WeightSource finalNorm, HeadSources? head)
    {
        Directory = directory;
        Config = config;
        Layout = layout;
        Embedding = embedding;
        Blocks = blocks;
        FinalNorm = finalNorm;
        Head = head;
    }

    public string Directory { get; }

    /// <summary>The folder name (the model's name in a model root).</summary>
    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Directory));

    public EsmcModelConfig Config { get; }

    public CheckpointLayout Layout { get; }

    public WeightSource Embedding { get; }

    public IReadOnlyList<BlockSources> Blocks { get; }

    public WeightSource FinalNorm { get; }

    /// <summary>The LM head; null for a bare encoder (allowed: only logits need it).</summary>
    public HeadSources? Head { get; }

    public static EsmcCheckpoint Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory)) throw new CheckpointException(directory, "model folder not found.");
        var config = EsmcModelConfig.Load(Path.Combine(directory, "config.json"));
        var tensors = ReadAllHeaders(directory);

        // Normalise names: drop Transformer Engine metadata, strip the optional "esmc." prefix.
        var byName = new Dictionary<string, SafeTensorEntry>(StringComparer.Ordinal);
        foreach (var entry in tensors)
        {
            if (entry.Name.EndsWith("._extra_state", StringComparison.Ordinal) || entry.Name == "_extra_state") continue;
            var name = entry.Name.StartsWith("esmc.", StringComparison.Ordinal) ? entry.Name["esmc.".Length..] : entry.Name;
            if (!byName.TryAdd(name, entry))
                throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}' duplicates '{byName[name].Name}' in {byName[name].FilePath}.");
        }

        var layout = DetectLayout(directory, byName);
        var resolver = new Resolver(directory, byName);
        var d = config.DModel;
        var f = config.FfnHidden;
        var names = LayoutNames.For(layout);
        var embedding = resolver.Take("embedding", [config.VocabRows, d], names.Embedding);
        var blocks = new List<BlockSources>(config.Layers);
        for (var i = 0; i < config.Layers; i++)
        {
            var b = names.Block(i);
            blocks.Add(new BlockSources(
                resolver.Take($"block {i} attention norm weight", [d], b.AttnNormWeight),
                resolver.Take($"block {i} attention norm bias", [d], b.AttnNormBias),
                resolver.Take($"block {i} q|k|v projection", [3L * d, d], b.Qkv),
                resolver.Take($"block {i} q norm", [d], b.QNorm),
                resolver.Take($"block {i} k norm", [d], b.KNorm),
                resolver.Take($"block {i} attention output", [d, d], b.AttnOut),
                resolver.Take($"block {i} FFN norm weight", [d], b.FfnNormWeight),
                resolver.Take($"block {i} FFN norm bias", [d], b.FfnNormBias),
                resolver.Take($"block {i} FFN gate|up", [2L * f, d], b.FfnIn),
                resolver.Take($"block {i} FFN down", [d, f], b.FfnOut)));
        }
        var finalNorm = resolver.Take("final norm", [d], names.FinalNorm);

        HeadSources? head = null;
        var headNames = names.Head;
        var presentHeadTensors = headNames.SelectMany(n => n).Where(byName.ContainsKey).ToList();
        if (presentHeadTensors.Count > 0)
        {
            head = new HeadSources(
                resolver.Take("LM head dense weight", [d, d], headNames[0]),
                resolver.Take("LM head dense bias", [d], headNames[1]),
                resolver.Take("LM head norm weight", [d], headNames[2]),
                resolver.Take("LM head norm bias", [d], headNames[3]),
                resolver.Take("LM head decoder weight", [config.VocabRows, d], headNames[4]),
                resolver.Take("LM head decoder bias", [config.VocabRows], headNames[5]));
        }
        resolver.ThrowOnUnexpected();
        return new EsmcCheckpoint(directory, config, layout, embedding, blocks, finalNorm, head);
    }

    private static List<SafeTensorEntry> ReadAllHeaders(string directory)
    {
        var single = Path.Combine(directory, SingleFileName);
        var index = Path.Combine(directory, IndexFileName);
        if (File.Exists(single)) return [.. SafeTensorsFile.Open(single).Entries.Values];
        if (!File.Exists(index))
            throw new CheckpointException(directory, $"no {SingleFileName} and no {IndexFileName}.");

        Dictionary<string, string> weightMap;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(index, "no weight_map object.");
            weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new CheckpointException(index, $"weight_map entry '{p.Name}' is not a file name.");
                weightMap[p.Name] = p.Value.GetString()!;
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointException(index, $"invalid JSON: {e.Message}", e);
        }

        var result = new List<SafeTensorEntry>();
        foreach (var shardName in weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (shardName.Contains('/') || shardName.Contains('\\') || shardName.Contains(".."))
                throw new CheckpointException(index, $"shard name '{shardName}' must be a plain file name in the model folder.");
            var shardPath = Path.Combine(directory, shardName);
            if (!File.Exists(shardPath)) throw new CheckpointException(shardPath, $"shard listed in {IndexFileName} is missing.");
            var shard = SafeTensorsFile.Open(shardPath);
            foreach (var entry in shard.Entries.Values)
            {
                if (!weightMap.TryGetValue(entry.Name, out var mapped) || mapped != shardName)
                    throw new CheckpointException(shardPath, $"tensor '{entry.Name}' is not assigned to this shard by {IndexFileName}.");
                result.Add(entry);
            }
        }
        var found = result.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, shard) in weightMap)
            if (!found.Contains(name)) throw new CheckpointException(Path.Combine(directory, shard), $"tensor '{name}' listed in {IndexFileName} is missing from the shard.");
        return result;
    }

    private static CheckpointLayout DetectLayout(string directory, Dictionary<string, SafeTensorEntry> byName)
    {
        if (byName.ContainsKey("embed_tokens.weight") || byName.Keys.Any(k => k.StartsWith("layers.", StringComparison.Ordinal))) return CheckpointLayout.HfSplit;
        if (byName.Keys.Any(k => k.Contains(".attn.layernorm_qkv.layer_norm_weight", StringComparison.Ordinal) || k.Contains(".ffn.fc1_weight", StringComparison.Ordinal))) return CheckpointLayout.HfResearch;
        if (byName.Keys.Any(k => k.Contains(".attn.layernorm_qkv.0.weight", StringComparison.Ordinal) || k.Contains(".ffn.1.weight", StringComparison.Ordinal))) return CheckpointLayout.EsmNative;
        throw new CheckpointException(directory, "cannot recognise the tensor layout (expected 'embed_tokens.weight', '...layernorm_qkv.layer_norm_weight' or '...layernorm_qkv.0.weight').");
    }

    /// <summary>Takes tensors out of the pool, checking existence, dtype and shape; whatever remains is unexpected.</summary>
    private sealed class Resolver(string directory, Dictionary<string, SafeTensorEntry> pool)
    {
        private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

        public WeightSource Take(string role, long[] shape, string[] partNames)
        {
            var parts = new List<SafeTensorEntry>(partNames.Length);
            foreach (var name in partNames)
            {
                if (!pool.TryGetValue(name, out var entry))
                    throw new CheckpointException(directory, $"missing tensor '{name}' ({role}).");
                if (!SafeTensorsFile.IsFloatingPoint(entry.DType))
                    throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}' ({role}) has dtype {entry.DType}; F32, BF16 or F16 is required.");
                var expectedPart = partNames.Length == 1 ? shape : [shape[0] / partNames.Length, .. shape[1..]];
                if (!entry.Shape.SequenceEqual(expectedPart))
                    throw new CheckpointException(entry.FilePath, $"tensor '{entry.Name}' ({role}) has shape {entry.ShapeText}, expected [{string.Join(", ", expectedPart)}].");
                parts.Add(entry);
                _taken.Add(name);
            }
            return new WeightSource(role, shape, parts);
        }

        public void ThrowOnUnexpected()
        {
            foreach (var (name, entry) in pool)
                if (!_taken.Contains(name))
                    throw new CheckpointException(entry.FilePath, $"unexpected tensor '{entry.Name}' (shape {entry.ShapeText}): it matches no ESMC weight of the detected layout.");
        }
    }

    private sealed record BlockNames(
        string[] AttnNormWeight, string[] AttnNormBias, string[] Qkv, string[] QNorm, string[] KNorm, string[] AttnOut,
        string[] FfnNormWeight, string[] FfnNormBias, string[] FfnIn, string[] FfnOut);

    private sealed record LayoutNames(string[] Embedding, Func<int, BlockNames> Block, string[] FinalNorm, string[][] Head)
    {
        public static LayoutNames For(CheckpointLayout layout) => layout switch
        {
            CheckpointLayout.EsmNative => new(["embed.weight"], i =>
            {
                var p = $"transformer.blocks.{i}.";
                return new BlockNames([p + "attn.layernorm_qkv.0.weight"], [p + "attn.layernorm_qkv.0.bias"], [p + "attn.layernorm_qkv.1.weight"],
                    [p + "attn.q_ln.weight"], [p + "attn.k_ln.weight"], [p + "attn.out_proj.weight"],
                    [p + "ffn.0.weight"], [p + "ffn.0.bias"], [p + "ffn.1.weight"], [p + "ffn.3.weight"]);
            }, ["transformer.norm.weight"],
                [["sequence_head.0.weight"], ["sequence_head.0.bias"], ["sequence_head.2.weight"], ["sequence_head.2.bias"], ["sequence_head.3.weight"], ["sequence_head.3.bias"]]),
            CheckpointLayout.HfResearch => new(["embed.weight"], i =>
            {
                var p = $"transformer.blocks.{i}.";
                return new BlockNames([p + "attn.layernorm_qkv.layer_norm_weight"], [p + "attn.layernorm_qkv.layer_norm_bias"], [p + "attn.layernorm_qkv.weight"],
                    [p + "attn.q_ln.weight"], [p + "attn.k_ln.weight"], [p + "attn.out_proj.weight"],
                    [p + "ffn.layer_norm_weight"], [p + "ffn.layer_norm_bias"], [p + "ffn.fc1_weight"], [p + "ffn.fc2_weight"]);
            }, ["transformer.norm.weight"],
                [["lm_head.0.weight"], ["lm_head.0.bias"], ["lm_head.2.weight"], ["lm_head.2.bias"], ["lm_head.3.weight"], ["lm_head.3.bias"]]),
            _ => new(["embed_tokens.weight"], i =>
            {
                var p = $"layers.{i}.";
                return new BlockNames([p + "input_layernorm.weight"], [p + "input_layernorm.bias"],
                    [p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"],
                    [p + "self_attn.q_norm.weight"], [p + "self_attn.k_norm.weight"], [p + "self_attn.o_proj.weight"],
                    [p + "post_attention_layernorm.weight"], [p + "post_attention_layernorm.bias"],
                    [p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"], [p + "mlp.down_proj.weight"]);
            }, ["norm.weight"],
                [["lm_head.dense.weight"], ["lm_head.dense.bias"], ["lm_head.layer_norm.weight"], ["lm_head.layer_norm.bias"], ["lm_head.decoder.weight"], ["lm_head.decoder.bias"]]),
        };
    }
}
