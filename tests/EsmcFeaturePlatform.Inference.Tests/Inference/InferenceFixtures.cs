using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>Paths and parsed golden data of tests/fixtures/esmc_tiny (copied to the output folder).</summary>
public static class InferenceFixtures
{
    public static string EsmcTinyRoot { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "esmc_tiny");

    private static readonly Lazy<JsonDocument> GoldenDocument = new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(EsmcTinyRoot, "golden.json"))));

    public static JsonElement Golden => GoldenDocument.Value.RootElement;

    /// <summary>Model folders by layout name, from golden.json.</summary>
    public static IReadOnlyList<string> ModelDirectoryNames =>
        Golden.GetProperty("model").GetProperty("dirs").EnumerateObject().Select(p => p.Value.GetString()!).ToList();

    public static string PrimaryModelDirectory => Path.Combine(EsmcTinyRoot, Golden.GetProperty("model").GetProperty("primary_dir").GetString()!);

    public sealed record GoldenSae(string Name, string RepoDir, int Layer, bool PlaceholderStats)
    {
        public string RepoPath => Path.Combine(EsmcTinyRoot, RepoDir);

        public string Id => $"{RepoDir}/layer{Layer}";
    }

    public static IReadOnlyList<GoldenSae> Saes =>
        Golden.GetProperty("saes").EnumerateArray().Select(s => new GoldenSae(
            s.GetProperty("name").GetString()!,
            s.GetProperty("repo_dir").GetString()!,
            s.GetProperty("layer").GetInt32(),
            s.GetProperty("stats").GetString()!.StartsWith("placeholder", StringComparison.Ordinal))).ToList();

    public static IReadOnlyList<JsonElement> Sequences => Golden.GetProperty("sequences").EnumerateArray().ToList();

    public static EsmcInferenceEngine LoadEngine(string modelDirectory)
    {
        var model = EsmcCheckpoint.Open(modelDirectory);
        var saes = Saes.Select(s => SaeCheckpoint.Open(s.RepoPath, s.Layer, model.Config, model.Directory)).ToList();
        return EsmcInferenceEngine.Load(model, saes, "cpu");
    }

    public static BatchRequest FullRequest(int layers) => new()
    {
        HiddenStates = Enumerable.Range(0, layers + 1).ToList(),
        Logits = true,
        Saes = Saes.Select(s => s.Id).ToList(),
        SaeInputs = true,
        ReconstructionError = true,
    };

    public static TokenizedSequence[] GoldenTokens() =>
        Sequences.Select(s => EsmcTokenizer.Tokenize(s.GetProperty("sequence").GetString()!)).ToArray();

    // ---- comparisons ----

    /// <summary>The spec's tolerance for a float32 port: |ours - golden| &lt;= 1e-4 * max(1, |golden|).</summary>
    public static void Close(double golden, double ours, string what)
    {
        var tolerance = 1e-4 * Math.Max(1.0, Math.Abs(golden));
        Assert.True(Math.Abs(ours - golden) <= tolerance, $"{what}: ours {ours:R} vs golden {golden:R} (|diff| {Math.Abs(ours - golden):E3} > {tolerance:E3})");
    }

    public static void Rows(JsonElement golden, float[][] ours, string what)
    {
        Assert.Equal(golden.GetArrayLength(), ours.Length);
        var r = 0;
        foreach (var row in golden.EnumerateArray())
        {
            Assert.Equal(row.GetArrayLength(), ours[r].Length);
            var c = 0;
            foreach (var v in row.EnumerateArray())
            {
                Close(v.GetDouble(), ours[r][c], $"{what}[{r}][{c}]");
                c++;
            }
            r++;
        }
    }

    /// <summary>A golden list of [index, value] pairs as a map.</summary>
    public static Dictionary<int, double> Pairs(JsonElement list) =>
        list.EnumerateArray().ToDictionary(p => p[0].GetInt32(), p => p[1].GetDouble());

    /// <summary>Identical feature index sets, values within tolerance.</summary>
    public static void SameFeatures(Dictionary<int, double> golden, IEnumerable<(int Index, double Value)> ours, string what)
    {
        var mine = ours.ToDictionary(f => f.Index, f => f.Value);
        Assert.True(golden.Keys.Order().SequenceEqual(mine.Keys.Order()),
            $"{what}: feature sets differ: golden [{string.Join(",", golden.Keys.Order())}] vs ours [{string.Join(",", mine.Keys.Order())}]");
        foreach (var (index, value) in golden) Close(value, mine[index], $"{what} feature {index}");
    }

    public static IEnumerable<(int, double)> AsPairs(this IEnumerable<FeatureActivation> features) => features.Select(f => (f.Index, (double)f.Value));

    public static IEnumerable<(int, double)> AsPairs(this IEnumerable<PooledActivation> features) => features.Select(f => (f.Index, (double)f.Value));

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "esmc-inference-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
