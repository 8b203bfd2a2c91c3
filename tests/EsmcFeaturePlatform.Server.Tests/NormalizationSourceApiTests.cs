using System.Text.Json.Nodes;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// One precedence rule for normalization statistics, visible in every answer: the SAE with real checkpoint statistics
/// goes through checkpoint, imported, an admin's choices and corpus statistics (its own host: the test changes its state).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class NormalizationSourceApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string Sequence = "MKTAYIAKQRQISFVKSHFSRQ";
    private const string Analyze = "{ analyzeSequence(sae: \"" + Sae + "\", sequence: \"" + Sequence + "\", normalize: true) { pooled { index value } normalization { source corpusSize chosenByAdmin importedFrom explanation } } }";
    private const string StatsInEffect = "{ normalizationStats(sae: \"" + Sae + "\", indices: [0, 1, 2, 3, 4, 5, 6, 7]) { index maxActivation idf source } }";
    private const string SaeState = "{ saes { id normalizationSource normalizationSourceChosen normalizationExplanation } }";

    [Fact]
    public async Task One_rule_decides_the_statistics_in_effect_and_every_answer_says_which()
    {
        using var encoder = TestEnvironment.OpenEncoder();
        var raw = (await encoder.EncodeAsync(Sae, [Sequence]))[0];
        var checkpoint = encoder.GetCheckpointStatistics(Sae)!;

        // Only the checkpoint's (real) statistics exist: they are in effect, in normalize: true and normalizationStats alike.
        var analyzed = (await platform.DataAsync(Analyze))["analyzeSequence"]!;
        Assert.Equal("CHECKPOINT", analyzed["normalization"]!["source"]!.GetValue<string>());
        Assert.Null(analyzed["normalization"]!["corpusSize"]);
        Assert.False(analyzed["normalization"]!["chosenByAdmin"]!.GetValue<bool>());
        AssertNormalized(raw, checkpoint.Max, checkpoint.Idf, analyzed["pooled"]!.AsArray());
        AssertStats("CHECKPOINT", checkpoint.Max, checkpoint.Idf, (await platform.DataAsync(StatsInEffect))["normalizationStats"]!.AsArray());

        // An import is never ignored: imported statistics come first, and the mutation's answer says they are in effect.
        var max = Enumerable.Range(0, 64).Select(i => 0.5f + i * 0.25f).ToArray();
        var idf = Enumerable.Range(0, 64).Select(i => 1f + i % 7 * 0.5f).ToArray();
        var file = Path.Combine(TestEnvironment.CorpusRoot, $"stats-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, new JsonObject { ["max"] = new JsonArray([.. max.Select(v => (JsonNode)v)]), ["idf"] = new JsonArray([.. idf.Select(v => (JsonNode)v)]) }.ToJsonString());
        var imported = (await platform.DataAsync("mutation($p: String!) { importNormalizationStats(sae: \"" + Sae + "\", path: $p) { normalizationSource normalizationExplanation } }",
            new { p = file }, PlatformFactory.AdminKey))["importNormalizationStats"]!;
        Assert.Equal("IMPORTED", imported["normalizationSource"]!.GetValue<string>());
        Assert.Contains("default order", imported["normalizationExplanation"]!.GetValue<string>());
        analyzed = (await platform.DataAsync(Analyze))["analyzeSequence"]!;
        Assert.Equal("IMPORTED", analyzed["normalization"]!["source"]!.GetValue<string>());
        Assert.Equal(file, analyzed["normalization"]!["importedFrom"]!.GetValue<string>());
        AssertNormalized(raw, max, idf, analyzed["pooled"]!.AsArray());
        AssertStats("IMPORTED", max, idf, (await platform.DataAsync(StatsInEffect))["normalizationStats"]!.AsArray());

        // Every available source side by side, the one in effect marked; no corpus is indexed yet.
        var sources = (await platform.DataAsync("{ normalizationSources(sae: \"" + Sae + "\", indices: [0, 1, 2, 3, 4, 5, 6, 7]) { source inEffect chosenByAdmin corpusSize features { index maxActivation idf source } } }"))
            ["normalizationSources"]!.AsArray();
        Assert.Equal(["IMPORTED", "CHECKPOINT"], sources.Select(s => s!["source"]!.GetValue<string>()));
        Assert.Equal([true, false], sources.Select(s => s!["inEffect"]!.GetValue<bool>()));
        AssertStats("IMPORTED", max, idf, sources[0]!["features"]!.AsArray());
        AssertStats("CHECKPOINT", checkpoint.Max, checkpoint.Idf, sources[1]!["features"]!.AsArray());

        // An admin chooses: a source that does not exist is refused naming those that do; readers may not choose.
        const string choose = "mutation($s: NormalizationSource) { setNormalizationSource(sae: \"" + Sae + "\", source: $s) { normalizationSource normalizationSourceChosen normalizationExplanation } }";
        var (_, missing) = await platform.PostAsync(choose, new { s = "CORPUS" }, PlatformFactory.AdminKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(missing));
        Assert.Contains("available: IMPORTED, CHECKPOINT", PlatformFactory.ErrorMessage(missing));
        var (_, reader) = await platform.PostAsync(choose, new { s = "CHECKPOINT" }, PlatformFactory.ReaderKey);
        Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(reader));
        var chosen = (await platform.DataAsync(choose, new { s = "CHECKPOINT" }, PlatformFactory.AdminKey))["setNormalizationSource"]!;
        Assert.Equal("CHECKPOINT", chosen["normalizationSource"]!.GetValue<string>());
        Assert.Equal("CHECKPOINT", chosen["normalizationSourceChosen"]!.GetValue<string>());
        Assert.Contains("chosen by an admin", chosen["normalizationExplanation"]!.GetValue<string>());
        analyzed = (await platform.DataAsync(Analyze))["analyzeSequence"]!;
        Assert.True(analyzed["normalization"]!["chosenByAdmin"]!.GetValue<bool>());
        AssertNormalized(raw, checkpoint.Max, checkpoint.Idf, analyzed["pooled"]!.AsArray());

        // With a corpus indexed, CORPUS can be chosen, and normalize: true says how many proteins its statistics count.
        var (path, records) = TestEnvironment.WriteCorpus(12, seed: 41);
        await ApiTestHelpers.IndexAsync(platform, Sae, path);
        var corpusSize = records.Select(r => r.Id).Distinct().Count();
        await platform.DataAsync(choose, new { s = "CORPUS" }, PlatformFactory.AdminKey);
        analyzed = (await platform.DataAsync(Analyze))["analyzeSequence"]!;
        Assert.Equal("CORPUS", analyzed["normalization"]!["source"]!.GetValue<string>());
        Assert.Equal(corpusSize, analyzed["normalization"]!["corpusSize"]!.GetValue<int>());
        var corpus = (await platform.DataAsync("{ normalizationStats(sae: \"" + Sae + "\", indices: [" + string.Join(",", Enumerable.Range(0, 64)) + "]) { maxActivation documentCount corpusSize idf source } }"))
            ["normalizationStats"]!.AsArray();
        Assert.All(corpus, s => Assert.Equal("CORPUS", s!["source"]!.GetValue<string>()));
        var corpusMax = corpus.Select(s => (float)(s!["maxActivation"]?.GetValue<double>() ?? 0)).ToArray();
        var corpusIdf = corpus.Select(s => (float)(s!["idf"]?.GetValue<double>() ?? 0)).ToArray();
        AssertNormalized(raw, corpusMax, corpusIdf, analyzed["pooled"]!.AsArray());

        // Back to the default order: imported statistics again.
        var reset = (await platform.DataAsync(choose, new { s = (string?)null }, PlatformFactory.AdminKey))["setNormalizationSource"]!;
        Assert.Equal("IMPORTED", reset["normalizationSource"]!.GetValue<string>());
        Assert.Null(reset["normalizationSourceChosen"]);
        var state = (await platform.DataAsync(SaeState))["saes"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == Sae)!;
        Assert.Equal("IMPORTED", state["normalizationSource"]!.GetValue<string>());
    }

    /// <summary>value / max * idf per pooled feature (docs/model-math.md, section 6.6), zeros dropped, sorted by value then index.</summary>
    private static void AssertNormalized(EsmcFeaturePlatform.Abstractions.EncodedSequence raw, float[] max, float[] idf, JsonArray pooled)
    {
        var expected = raw.Pooled
            .Select(p => (p.Index, Value: max[p.Index] > 0 ? p.Value / max[p.Index] * idf[p.Index] : 0f))
            .Where(p => p.Value > 0).OrderByDescending(p => p.Value).ThenBy(p => p.Index).ToList();
        Assert.Equal(expected.Select(p => p.Index), pooled.Select(p => p!["index"]!.GetValue<int>()));
        foreach (var (e, a) in expected.Zip(pooled))
            Assert.Equal(e.Value, a!["value"]!.GetValue<double>(), 1e-5 * Math.Max(1, e.Value));
    }

    private static void AssertStats(string source, float[] max, float[] idf, JsonArray stats)
    {
        Assert.NotEmpty(stats);
        foreach (var s in stats)
        {
            var index = s!["index"]!.GetValue<int>();
            Assert.Equal(source, s["source"]!.GetValue<string>());
            if (max[index] > 0)
            {
                Assert.Equal(max[index], (float)s["maxActivation"]!.GetValue<double>());
                Assert.Equal(idf[index], (float)s["idf"]!.GetValue<double>(), 1e-6f);
            }
            else Assert.Null(s["maxActivation"]);
        }
    }
}
