using System.Security.Cryptography;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using Xunit;
using static EsmcFeaturePlatform.TestSupport.TinyModelRoot;
using static EsmcFeaturePlatform.Inference.Tests.Inference.InferenceFixtures;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>Model-root discovery (docs/contracts.md, section 1) and the demo model writer.</summary>
public sealed class ModelRootTests : IDisposable
{
    private readonly string _temp = TempDirectory();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static Dictionary<string, string> Hashes(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public async Task Demo_model_is_deterministic_idempotent_and_serves_features()
    {
        var root = Path.Combine(_temp, "root");
        var ids = DemoModel.Create(root);
        Assert.Equal(2, ids.Count);
        var firstHashes = Hashes(root);
        var firstTimes = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        Assert.Equal(ids, DemoModel.Create(root));
        Assert.Equal(firstTimes, Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc));
        var otherRoot = Path.Combine(_temp, "other");
        Assert.Equal(ids, DemoModel.Create(otherRoot));
        Assert.Equal(firstHashes, Hashes(otherRoot));

        var model = EsmcCheckpoint.Open(Path.Combine(root, DemoModel.ModelName));
        Assert.Equal(CheckpointLayout.HfSplit, model.Layout);
        Assert.NotNull(model.Head);

        using var encoder = TorchFeatureEncoder.OpenModelRoot(root, new InferenceOptions { Device = "cpu" });
        Assert.Empty(encoder.LoadProblems);
        Assert.Equal(ids.Order(StringComparer.Ordinal), encoder.Saes.Select(s => s.Id));
        Assert.All(encoder.Saes, s => Assert.Equal(DemoModel.ModelName, s.Model));
        Assert.All(encoder.Saes, s => Assert.True(s.HasCheckpointStatistics));
        Assert.Single(encoder.Saes, s => s.ResidualUpdate);
        foreach (var id in ids)
        {
            var result = (await encoder.EncodeAsync(id, ["MKTAYIAKQRQISFVKSHFSRQ"]))[0];
            Assert.Equal(22, result.Length);
            Assert.All(result.Residues, r => Assert.NotEmpty(r));
            Assert.NotEmpty(result.Pooled);
        }
    }

    [Fact]
    public void Demo_model_size_is_a_parameter()
    {
        var size = new DemoModelSize("Small-random", DModel: 48, Heads: 3, Layers: 2, SaeLayer: 1, CodebookSize: 96, K: 8);
        var ids = DemoModel.Create(_temp, size);
        Assert.Equal(["Small-random-sae-layer1-k8-codebook96/layer1"], ids);
        var model = EsmcCheckpoint.Open(Path.Combine(_temp, "Small-random"));
        Assert.Equal((48, 3, 2, EsmcModelConfig.SwiGluHidden(48)), (model.Config.DModel, model.Config.Heads, model.Config.Layers, model.Config.FfnHidden));
        var sae = SaeCheckpoint.Open(Path.Combine(_temp, "Small-random-sae-layer1-k8-codebook96"), 1, model.Config);
        Assert.Equal((96, 8), (sae.Config.CodebookSize, sae.Config.K));
        Assert.Throws<ArgumentException>(() => DemoModel.Create(_temp, size with { Heads = 5 }));
        Assert.Throws<ArgumentException>(() => DemoModel.Create(_temp, size with { SaeLayer = 3 }));
    }

    [Fact]
    public void Broken_models_and_saes_are_reported_with_path_while_the_rest_load()
    {
        var root = Path.Combine(_temp, "root");
        var demoIds = DemoModel.Create(root);
        var statesRepo = demoIds[0].Split('/')[0];

        // A golden SAE (width 32) claiming the demo (width 64) as its base: d_model mismatch.
        var mismatched = CopyDirectory(Saes[0].RepoPath, Path.Combine(root, $"{DemoModel.ModelName}-sae-narrow"));
        // A model whose weights are truncated, and an SAE of it.
        var brokenModel = CopyDirectory(PrimaryModelDirectory, Path.Combine(root, "Broken-model"));
        using (var s = new FileStream(Path.Combine(brokenModel, "model.safetensors"), FileMode.Open)) s.SetLength(s.Length / 2);
        CopyDirectory(Saes[0].RepoPath, Path.Combine(root, "Broken-model-sae-x"));
        // An SAE whose base model does not exist.
        CopyDirectory(Saes[0].RepoPath, Path.Combine(root, "Nowhere-sae-layer1"));
        // A valid copy of the demo SAE, its base model named in another case; and one that relies on the -sae-mlp- name.
        CopyDirectory(Path.Combine(root, statesRepo), Path.Combine(root, "esmc-DEMO-sae-copy"));
        var mlpByName = CopyDirectory(Path.Combine(root, statesRepo), Path.Combine(root, $"{DemoModel.ModelName}-sae-mlp-byname"));
        RawSafeTensors.ConfigWith(Path.Combine(mlpByName, "config.json"), c =>
        {
            c.Remove("use_residual_update_instead_of_states");
            c.Remove("base_model");
        });
        // A second golden-width model with a valid SAE named through base_model.
        CopyDirectory(PrimaryModelDirectory, Path.Combine(root, "tiny"));
        var named = CopyDirectory(Saes[0].RepoPath, Path.Combine(root, "named-by-config"));
        RawSafeTensors.ConfigWith(Path.Combine(named, "config.json"), c => c["base_model"] = "TINY");

        using var encoder = TorchFeatureEncoder.OpenModelRoot(root, new InferenceOptions { Device = "cpu" });
        var ids = encoder.Saes.Select(s => s.Id).ToHashSet();
        Assert.Superset(demoIds.ToHashSet(), ids);
        Assert.Contains($"esmc-DEMO-sae-copy/layer{demoIds[0].Split("layer")[^1]}", ids);
        Assert.Contains(encoder.Saes, s => s.Id.StartsWith("named-by-config/", StringComparison.Ordinal) && s.Model == "tiny");
        Assert.True(encoder.Saes.Single(s => s.Id.StartsWith($"{DemoModel.ModelName}-sae-mlp-byname/", StringComparison.Ordinal)).ResidualUpdate);
        Assert.False(encoder.Saes.Single(s => s.Id.StartsWith("esmc-DEMO-sae-copy/", StringComparison.Ordinal)).ResidualUpdate);

        void Reported(string pathPart, string reasonPart) =>
            Assert.True(encoder.LoadProblems.Any(p => p.Path.Contains(pathPart, StringComparison.Ordinal) && p.Reason.Contains(reasonPart, StringComparison.Ordinal)),
                $"expected a problem for {pathPart} mentioning '{reasonPart}'; got: {string.Join(" | ", encoder.LoadProblems)}");
        Reported(mismatched, "d_model");
        Reported(brokenModel, "truncated");
        Reported("Broken-model-sae-x", "failed to load");
        Reported("Nowhere-sae-layer1", "not found");
        Assert.DoesNotContain(ids, id => id.StartsWith("Nowhere", StringComparison.Ordinal) || id.StartsWith("Broken", StringComparison.Ordinal));
        Assert.Throws<DirectoryNotFoundException>(() => TorchFeatureEncoder.OpenModelRoot(Path.Combine(_temp, "missing"), new InferenceOptions()));
    }
}
