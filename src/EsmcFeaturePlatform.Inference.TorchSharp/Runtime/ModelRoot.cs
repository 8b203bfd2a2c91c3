using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>A model that validated, with the SAEs that validated against it.</summary>
public sealed record DiscoveredModel(EsmcCheckpoint Checkpoint, IReadOnlyList<SaeCheckpoint> Saes);

/// <summary>
/// Finds models and SAEs under a model root (docs/contracts.md, section 1). Only headers and configs are
/// read, so scanning a root of multi-GB checkpoints is fast; every failure becomes a
/// <see cref="LoadProblem"/> with the path and reason and the rest still load.
/// </summary>
public static class ModelRoot
{
    public static (IReadOnlyList<DiscoveredModel> Models, IReadOnlyList<LoadProblem> Problems) Scan(string modelRoot)
    {
        if (!Directory.Exists(modelRoot))
            throw new DirectoryNotFoundException($"Model root '{modelRoot}' does not exist.");
        var problems = new List<LoadProblem>();
        var modelFolders = new List<string>();
        var saeFolders = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories(modelRoot).Order(StringComparer.Ordinal))
        {
            switch (Classify(folder))
            {
                case FolderKind.Model: modelFolders.Add(folder); break;
                case FolderKind.Sae: saeFolders.Add(folder); break;
                case FolderKind.Unusable: problems.Add(new LoadProblem(folder, "has *.safetensors but no config.json; cannot tell what it is.")); break;
            }
        }

        var models = new Dictionary<string, EsmcCheckpoint?>(StringComparer.OrdinalIgnoreCase);
        foreach (var folder in modelFolders)
        {
            try
            {
                models[Path.GetFileName(folder)] = EsmcCheckpoint.Open(folder);
            }
            catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
            {
                models[Path.GetFileName(folder)] = null;
                problems.Add(new LoadProblem(folder, e.Message));
            }
        }

        var saesByModel = new Dictionary<string, List<SaeCheckpoint>>(StringComparer.OrdinalIgnoreCase);
        foreach (var folder in saeFolders)
        {
            var repoName = Path.GetFileName(folder);
            SaeConfig config;
            try
            {
                config = SaeConfig.Load(Path.Combine(folder, "config.json"));
            }
            catch (CheckpointException e)
            {
                problems.Add(new LoadProblem(folder, e.Message));
                continue;
            }
            var baseName = config.BaseModel ?? BaseModelFromRepoName(repoName);
            if (baseName is null)
            {
                problems.Add(new LoadProblem(folder, "SAE repo has no 'base_model' in config.json and its name has no '-sae-' to take the model name from."));
                continue;
            }
            if (!models.TryGetValue(baseName, out var model))
            {
                problems.Add(new LoadProblem(folder, $"base model '{baseName}' not found under the model root."));
                continue;
            }
            if (model is null)
            {
                problems.Add(new LoadProblem(folder, $"base model '{baseName}' failed to load (see its own problem)."));
                continue;
            }
            var layers = SaeCheckpoint.AvailableLayerFiles(folder);
            foreach (var listed in config.AvailableLayers.Except(layers))
                problems.Add(new LoadProblem(SaeCheckpoint.LayerFilePath(folder, listed), $"layer {listed} is listed in available_layers but the file is missing."));
            if (layers.Count == 0)
            {
                problems.Add(new LoadProblem(folder, "SAE repo has no layer_N.safetensors files."));
                continue;
            }
            foreach (var layer in layers)
            {
                try
                {
                    var sae = SaeCheckpoint.Open(folder, layer, model.Config, model.Directory, config);
                    if (!saesByModel.TryGetValue(model.Name, out var list)) saesByModel[model.Name] = list = [];
                    list.Add(sae);
                }
                catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
                {
                    problems.Add(new LoadProblem(SaeCheckpoint.LayerFilePath(folder, layer), e.Message));
                }
            }
        }

        var discovered = models.Values.OfType<EsmcCheckpoint>()
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => new DiscoveredModel(m, saesByModel.TryGetValue(m.Name, out var s) ? s : []))
            .ToList();
        return (discovered, problems);
    }

    /// <summary>Biohub's naming: the part of the repo name before <c>-sae-</c> (case-insensitive).</summary>
    public static string? BaseModelFromRepoName(string repoName)
    {
        var at = repoName.IndexOf("-sae-", StringComparison.OrdinalIgnoreCase);
        return at > 0 ? repoName[..at] : null;
    }

    private enum FolderKind { Ignored, Model, Sae, Unusable }

    private static FolderKind Classify(string folder)
    {
        var config = Path.Combine(folder, "config.json");
        var hasWeights = Directory.EnumerateFiles(folder, "*.safetensors").Any() || File.Exists(Path.Combine(folder, EsmcCheckpoint.IndexFileName));
        if (!File.Exists(config)) return hasWeights ? FolderKind.Unusable : FolderKind.Ignored;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(config));
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String)
                {
                    if (type.GetString() == "esmc_sae") return FolderKind.Sae;
                    if (type.GetString() == "esmc") return FolderKind.Model;
                }
                if (root.TryGetProperty("codebook_dim", out _)) return FolderKind.Sae;
            }
        }
        catch (JsonException)
        {
            // Falls through to the name-based guess; the loader then reports the broken config.
        }
        return Path.GetFileName(folder).Contains("-sae-", StringComparison.OrdinalIgnoreCase) || Directory.EnumerateFiles(folder, "layer_*.safetensors").Any()
            ? FolderKind.Sae
            : FolderKind.Model;
    }
}
