using System.Text.Json;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

namespace EsmcFeaturePlatform.Inference.TorchSharp;

/// <summary>Dimensions of a random demo model and its SAE.</summary>
public sealed record DemoModelSize(string ModelName, int DModel, int Heads, int Layers, int SaeLayer, int CodebookSize, int K, bool IncludeResidualUpdateSae = false, ulong Seed = 1)
{
    /// <summary>The default demo: small enough to create and run in a second on a laptop.</summary>
    public static DemoModelSize Tiny { get; } = new(DemoModel.ModelName, 64, 4, 4, 3, 512, 16, IncludeResidualUpdateSae: true);

    /// <summary>ESMC-300M dimensions (docs/model-math.md, section 4) with a 65,536-feature SAE at layer 23: for benchmarks.</summary>
    public static DemoModelSize Esmc300M { get; } = new("ESMC-300M-random", 960, 15, 30, 23, 65536, 64);

    /// <summary>ESMC-600M dimensions with a 65,536-feature SAE at layer 27: for benchmarks.</summary>
    public static DemoModelSize Esmc600M { get; } = new("ESMC-600M-random", 1152, 18, 36, 27, 65536, 64);
}

/// <summary>
/// Writes a deterministic RANDOM ESMC checkpoint (layout C, real config.json) and SAE repo(s) under a model
/// root. The weights are random numbers: the features mean nothing biologically. It exists so that demos,
/// tests and benchmarks run with the real file formats and real code paths when no real weights are at hand.
/// </summary>
public static class DemoModel
{
    public const string ModelName = "ESMC-demo";

    /// <summary>The config.json key every model this writer creates carries (and real checkpoints never do).</summary>
    public const string MarkerKey = "demo_seed";

    /// <summary>True when the model folder's config.json was written by this writer (it has <see cref="MarkerKey"/>).</summary>
    public static bool IsDemoCheckpoint(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, "config.json");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(MarkerKey, out _);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return false;   // the checkpoint loader reports unreadable configs itself
        }
    }

    private const string Disclaimer = "Random weights written by EsmcFeaturePlatform's demo-model writer: meaningless biology, for demos, tests and benchmarks only.";

    /// <summary>Writes the model and SAE repo(s) unless identical ones exist; returns the SAE ids (<c>REPO/layerN</c>).</summary>
    public static IReadOnlyList<string> Create(string modelRoot, DemoModelSize? size = null)
    {
        size ??= DemoModelSize.Tiny;
        Validate(size);
        Directory.CreateDirectory(modelRoot);
        var modelDir = Path.Combine(modelRoot, size.ModelName);
        WriteModel(modelDir, size);

        var ids = new List<string>();
        var statesRepo = $"{size.ModelName}-sae-layer{size.SaeLayer}-k{size.K}-codebook{size.CodebookSize}";
        WriteSae(Path.Combine(modelRoot, statesRepo), size, size.SaeLayer, residualUpdate: false, salt: 101);
        ids.Add($"{statesRepo}/layer{size.SaeLayer}");
        if (size.IncludeResidualUpdateSae)
        {
            var mlpLayer = Math.Max(1, size.SaeLayer - 1);
            var mlpRepo = $"{size.ModelName}-sae-mlp-layer{mlpLayer}-k{size.K}-codebook{size.CodebookSize}";
            WriteSae(Path.Combine(modelRoot, mlpRepo), size, mlpLayer, residualUpdate: true, salt: 202);
            ids.Add($"{mlpRepo}/layer{mlpLayer}");
        }
        return ids;
    }

    private static void Validate(DemoModelSize s)
    {
        if (string.IsNullOrWhiteSpace(s.ModelName) || s.ModelName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || s.ModelName.Contains("-sae-", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"Demo model name '{s.ModelName}' must be a plain folder name without '-sae-'.");
        if (s.DModel < 2 || s.Heads < 1 || s.DModel % s.Heads != 0 || (s.DModel / s.Heads) % 2 != 0)
            throw new ArgumentException($"Demo model width {s.DModel} must split into {s.Heads} heads of even size.");
        if (s.Layers < 1 || s.SaeLayer < 0 || s.SaeLayer > s.Layers)
            throw new ArgumentException($"Demo SAE layer {s.SaeLayer} must be within 0..{s.Layers}.");
        if (s.CodebookSize < 1 || s.K < 1 || s.K > s.CodebookSize)
            throw new ArgumentException($"Demo SAE k {s.K} must be within 1..{s.CodebookSize}.");
    }

    private static void WriteModel(string dir, DemoModelSize s)
    {
        var f = EsmcModelConfig.SwiGluHidden(s.DModel);
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "EsmcForMaskedLM" },
            ["model_type"] = "esmc",
            ["hidden_size"] = s.DModel,
            ["num_attention_heads"] = s.Heads,
            ["num_key_value_heads"] = s.Heads,
            ["num_hidden_layers"] = s.Layers,
            ["intermediate_size"] = f,
            ["vocab_size"] = 64,
            ["pad_token_id"] = 1,
            ["mask_token_id"] = 32,
            ["rope_theta"] = 10000.0,
            ["qk_layernorm"] = true,
            ["scale_residue"] = true,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["max_position_embeddings"] = 2048,
            ["tie_word_embeddings"] = false,
            ["dtype"] = "float32",
            [MarkerKey] = s.Seed,
            ["_comment"] = Disclaimer,
        };
        var weights = Path.Combine(dir, EsmcCheckpoint.SingleFileName);
        if (!WriteConfigIfChanged(dir, config) && File.Exists(weights)) return;

        long d = s.DModel, ff = f;
        double inScale = 1.0 / Math.Sqrt(d), ffScale = 1.0 / Math.Sqrt(ff);
        var tensors = new List<SafeTensorSpec> { Normal("esmc.embed_tokens.weight", [64, d], s.Seed, 1.0) };
        for (var i = 0; i < s.Layers; i++)
        {
            var p = $"esmc.layers.{i}.";
            tensors.Add(Around(p + "input_layernorm.weight", [d], s.Seed, 1.0, 0.1));
            tensors.Add(Normal(p + "input_layernorm.bias", [d], s.Seed, 0.1));
            tensors.Add(Normal(p + "self_attn.q_proj.weight", [d, d], s.Seed, inScale));
            tensors.Add(Normal(p + "self_attn.k_proj.weight", [d, d], s.Seed, inScale));
            tensors.Add(Normal(p + "self_attn.v_proj.weight", [d, d], s.Seed, inScale));
            tensors.Add(Around(p + "self_attn.q_norm.weight", [d], s.Seed, 1.0, 0.1));
            tensors.Add(Around(p + "self_attn.k_norm.weight", [d], s.Seed, 1.0, 0.1));
            tensors.Add(Normal(p + "self_attn.o_proj.weight", [d, d], s.Seed, inScale));
            tensors.Add(Around(p + "post_attention_layernorm.weight", [d], s.Seed, 1.0, 0.1));
            tensors.Add(Normal(p + "post_attention_layernorm.bias", [d], s.Seed, 0.1));
            tensors.Add(Normal(p + "mlp.gate_proj.weight", [ff, d], s.Seed, inScale));
            tensors.Add(Normal(p + "mlp.up_proj.weight", [ff, d], s.Seed, inScale));
            tensors.Add(Normal(p + "mlp.down_proj.weight", [d, ff], s.Seed, ffScale));
        }
        tensors.Add(Around("esmc.norm.weight", [d], s.Seed, 1.0, 0.1));
        tensors.Add(Normal("lm_head.dense.weight", [d, d], s.Seed, inScale));
        tensors.Add(Normal("lm_head.dense.bias", [d], s.Seed, 0.1));
        tensors.Add(Around("lm_head.layer_norm.weight", [d], s.Seed, 1.0, 0.1));
        tensors.Add(Normal("lm_head.layer_norm.bias", [d], s.Seed, 0.1));
        tensors.Add(Normal("lm_head.decoder.weight", [64, d], s.Seed, inScale));
        tensors.Add(Normal("lm_head.decoder.bias", [64], s.Seed, 0.1));
        SafeTensorsWriter.WriteF32(weights, tensors);
    }

    private static void WriteSae(string dir, DemoModelSize s, int layer, bool residualUpdate, ulong salt)
    {
        var config = new Dictionary<string, object>
        {
            ["d_model"] = s.DModel,
            ["codebook_dim"] = s.CodebookSize,
            ["k"] = s.K,
            ["available_layers"] = new[] { layer },
            ["model_type"] = "esmc_sae",
            ["use_residual_update_instead_of_states"] = residualUpdate,
            ["base_model"] = s.ModelName,
            [MarkerKey] = s.Seed,
            ["_comment"] = Disclaimer,
        };
        var weights = SaeCheckpoint.LayerFilePath(dir, layer);
        if (!WriteConfigIfChanged(dir, config) && File.Exists(weights)) return;
        long d = s.DModel, c = s.CodebookSize;
        var seed = s.Seed * 1_000_003UL + salt;
        // Statistics are random too, but deliberately not all-ones: normalization works on the demo.
        SafeTensorsWriter.WriteF32(weights,
        [
            Normal("W_enc", [d, c], seed, 1.0 / Math.Sqrt(d)),
            Normal("W_dec", [c, d], seed, 1.0 / Math.Sqrt(d)),
            Normal("b_dec", [d], seed, 0.1),
            Uniform("idf", [c], seed, 0.5, 6.0),
            Uniform("max", [c], seed, 2.0, 6.0),
        ]);
    }

    /// <summary>Writes config.json when absent or different; true when the folder's contents must be (re)written.</summary>
    private static bool WriteConfigIfChanged(string dir, Dictionary<string, object> config)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "config.json");
        var text = JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (File.Exists(path) && File.ReadAllText(path) == text) return false;
        // Weights first, config last would be nicer, but the config decides whether weights are stale:
        // delete the old weights so an interrupted rewrite is never mistaken for a finished one.
        foreach (var stale in Directory.EnumerateFiles(dir, "*.safetensors")) File.Delete(stale);
        File.WriteAllText(path, text);
        return true;
    }

    private static SafeTensorSpec Normal(string name, long[] shape, ulong seed, double std)
    {
        var rng = new SplitMix64(seed ^ Fnv1a(name));
        return new SafeTensorSpec(name, shape, (chunk, _) =>
        {
            for (var i = 0; i < chunk.Length; i++) chunk[i] = (float)(rng.NextNormal() * std);
        });
    }

    private static SafeTensorSpec Around(string name, long[] shape, ulong seed, double center, double std)
    {
        var rng = new SplitMix64(seed ^ Fnv1a(name));
        return new SafeTensorSpec(name, shape, (chunk, _) =>
        {
            for (var i = 0; i < chunk.Length; i++) chunk[i] = (float)(center + rng.NextNormal() * std);
        });
    }

    private static SafeTensorSpec Uniform(string name, long[] shape, ulong seed, double low, double high)
    {
        var rng = new SplitMix64(seed ^ Fnv1a(name));
        return new SafeTensorSpec(name, shape, (chunk, _) =>
        {
            for (var i = 0; i < chunk.Length; i++) chunk[i] = (float)(low + (high - low) * rng.NextDouble());
        });
    }

    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var ch in text)
        {
            hash ^= ch;
            hash *= 1099511628211UL;
        }
        return hash;
    }

    /// <summary>SplitMix64: tiny, fast and identical on every platform, so demo files are byte-for-byte reproducible.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Irwin-Hall approximation of N(0,1) (sum of four uniforms), as the golden-file generator uses.</summary>
        public double NextNormal() => (NextDouble() + NextDouble() + NextDouble() + NextDouble() - 2.0) * Math.Sqrt(3.0);
    }
}
