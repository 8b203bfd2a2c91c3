using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

/// <summary>
/// One validated SAE layer file (<c>layer_N.safetensors</c> of an SAE repo, docs/model-math.md, section 6.3): exactly the
/// five tensors with shapes matching the repo config and, when given, the base model's width.
/// </summary>
public sealed class SaeCheckpoint
{
    public static readonly string[] TensorNames = ["W_enc", "W_dec", "b_dec", "idf", "max"];

    private SaeCheckpoint(string repoDirectory, int layer, SaeConfig config, bool residualUpdate, IReadOnlyDictionary<string, SafeTensorEntry> tensors)
    {
        RepoDirectory = repoDirectory;
        Layer = layer;
        Config = config;
        ResidualUpdate = residualUpdate;
        Tensors = tensors;
    }

    public string RepoDirectory { get; }

    public string RepoName => Path.GetFileName(Path.TrimEndingDirectorySeparator(RepoDirectory));

    /// <summary>docs/contracts.md, section 1: <c>REPO_FOLDER_NAME/layerN</c>.</summary>
    public string Id => $"{RepoName}/layer{Layer}";

    public int Layer { get; }

    public SaeConfig Config { get; }

    /// <summary>Input is h[N] - h[N-1] (the "MLP outputs" family, docs/model-math.md, section 6.5) instead of h[N].</summary>
    public bool ResidualUpdate { get; }

    public IReadOnlyDictionary<string, SafeTensorEntry> Tensors { get; }

    public string FilePath => LayerFilePath(RepoDirectory, Layer);

    public static string LayerFilePath(string repoDirectory, int layer) => Path.Combine(repoDirectory, $"layer_{layer}.safetensors");

    /// <summary>The config flag when present, else Biohub's naming (<c>-sae-mlp-</c>), docs/model-math.md, section 6.5.</summary>
    public static bool IsResidualUpdate(SaeConfig config, string repoName) =>
        config.ResidualUpdateFlag ?? repoName.Contains("-sae-mlp-", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens and validates <c>layer_{layer}.safetensors</c>; <paramref name="model"/> (optional) adds the d_model and layer-range checks.</summary>
    public static SaeCheckpoint Open(string repoDirectory, int layer, EsmcModelConfig? model = null, string? modelPath = null, SaeConfig? config = null)
    {
        if (!Directory.Exists(repoDirectory)) throw new CheckpointException(repoDirectory, "SAE folder not found.");
        var configPath = Path.Combine(repoDirectory, "config.json");
        config ??= SaeConfig.Load(configPath);
        var filePath = LayerFilePath(repoDirectory, layer);
        if (!File.Exists(filePath))
            throw new CheckpointException(filePath, $"SAE layer {layer} not found (the repo has layers {string.Join(", ", AvailableLayerFiles(repoDirectory))}).");
        if (model is not null)
        {
            if (config.DModel != model.DModel)
                throw new CheckpointException(configPath, $"SAE d_model {config.DModel} does not match the model's hidden size {model.DModel}{(modelPath is null ? "" : $" ({modelPath})")}.");
            if (layer > model.Layers)
                throw new CheckpointException(filePath, $"SAE layer {layer} is beyond the model's {model.Layers} layers (valid: 0..{model.Layers}).");
        }
        var file = SafeTensorsFile.Open(filePath);
        long d = config.DModel, c = config.CodebookSize;
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["W_enc"] = [d, c], ["W_dec"] = [c, d], ["b_dec"] = [d], ["idf"] = [c], ["max"] = [c],
        };
        foreach (var (name, shape) in expected)
        {
            if (!file.Entries.TryGetValue(name, out var entry)) throw new CheckpointException(filePath, $"missing tensor '{name}'.");
            if (!SafeTensorsFile.IsFloatingPoint(entry.DType)) throw new CheckpointException(filePath, $"tensor '{name}' has dtype {entry.DType}; F32, BF16 or F16 is required.");
            if (!entry.Shape.SequenceEqual(shape))
                throw new CheckpointException(filePath, $"tensor '{name}' has shape {entry.ShapeText}, expected [{string.Join(", ", shape)}] from d_model {d} and codebook_dim {c}.");
        }
        foreach (var name in file.Entries.Keys)
            if (!expected.ContainsKey(name)) throw new CheckpointException(filePath, $"unexpected tensor '{name}'; an SAE layer file holds exactly W_enc, W_dec, b_dec, idf, max.");
        return new SaeCheckpoint(repoDirectory, layer, config, IsResidualUpdate(config, Path.GetFileName(Path.TrimEndingDirectorySeparator(repoDirectory))), file.Entries);
    }

    public static IReadOnlyList<int> AvailableLayerFiles(string repoDirectory)
    {
        var layers = new List<int>();
        foreach (var path in Directory.EnumerateFiles(repoDirectory, "layer_*.safetensors"))
        {
            var stem = Path.GetFileNameWithoutExtension(path)["layer_".Length..];
            if (int.TryParse(stem, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var layer)) layers.Add(layer);
        }
        layers.Sort();
        return layers;
    }

    /// <summary>The file's own idf/max (read from disk; C floats each).</summary>
    public NormalizationStats ReadStatistics()
    {
        var max = SafeTensorsFile.ReadFloats(Tensors["max"]);
        var idf = SafeTensorsFile.ReadFloats(Tensors["idf"]);
        return new NormalizationStats(max, idf);
    }

    /// <summary>
    /// True when the statistics can be used for normalization: not Biohub's all-ones placeholders and
    /// finite (max &lt;= 0 is allowed: such a feature normalizes to 0, see FeatureMath).
    /// </summary>
    public static bool AreUsable(NormalizationStats stats) =>
        !FeatureMath.IsPlaceholder(stats) && stats.Max.All(float.IsFinite) && stats.Idf.All(float.IsFinite);
}
