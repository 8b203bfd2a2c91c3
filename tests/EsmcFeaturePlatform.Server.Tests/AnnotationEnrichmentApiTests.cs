using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Corpus;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Feature.annotationEnrichment over real HTTP on a real silo after indexing real Swiss-Prot entries: every feature's
/// rows are exactly the description agent's residue-level enrichment of the same top examples, with the annotations
/// read independently from the fixture file, corrected by Benjamini-Hochberg over every feature x term of the SAE;
/// on the random demo model almost nothing survives; a FASTA corpus (no annotations) gives empty lists.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AnnotationEnrichmentApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const int Features = 64;
    private const string Rows = "term type truePositives falsePositives falseNegatives precision recall f1 foldEnrichment pValue adjustedPValue significant";

    [Fact]
    public async Task Every_feature_of_a_page_gets_the_agents_enrichment_of_its_top_examples()
    {
        const string sae = TestEnvironment.SaeWithRealStats;
        var corpus = ApiTestHelpers.WriteUniProtSubset(16);
        await ApiTestHelpers.IndexAsync(platform, sae, corpus, topExamples: 20);
        var records = new Dictionary<string, ProteinRecord>(StringComparer.Ordinal);
        await foreach (var r in CorpusReader.ReadAsync(corpus)) records[r.Id] = r;
        Assert.Contains(records.Values, r => r.Annotations.Count > 0);

        // All features in one request (batched loading), with the top examples the agent would be given.
        var data = await platform.DataAsync("query($s: ID!) { " + string.Join(' ', Enumerable.Range(0, Features).Select(i =>
            $"f{i}: feature(sae: $s, index: {i}) {{ index topExamples(first: 20) {{ sequenceId maxValue position sequence activations }} annotationEnrichment(first: 1000) {{ {Rows} }} }}")) + " }",
            new { s = sae });

        // The family every row is corrected over: every (feature, term) test of the SAE (all 64 features are read here).
        var all = Enumerable.Range(0, Features).SelectMany(i => data[$"f{i}"]!["annotationEnrichment"]!.AsArray()).ToList();
        var family = EnrichmentFamily.Of(all.Select(r => r!["pValue"]!.GetValue<double>()));
        var independent = BenjaminiHochberg([.. all.Select(r => r!["pValue"]!.GetValue<double>())]);
        for (var j = 0; j < all.Count; j++)
            Assert.Equal(independent[j], all[j]!["adjustedPValue"]!.GetValue<double>(), 12);

        var nonEmpty = 0;
        for (var i = 0; i < Features; i++)
        {
            var feature = data[$"f{i}"]!;
            var top = feature["topExamples"]!.AsArray().Select(e =>
            {
                var example = new ActivationExample(e!["sequenceId"]!.GetValue<string>(), e["maxValue"]!.GetValue<float>(), e["position"]!.GetValue<int>(),
                    e["sequence"]!.GetValue<string>(), [.. e["activations"]!.AsArray().Select(a => a!.GetValue<float>())]);
                var record = records[example.SequenceId];
                return new AnnotatedExample(example, [.. record.Annotations.Select(a => new ResidueAnnotation(a.Type, a.Start, a.End, a.Note))], record.Keywords);
            }).ToList();
            // What the agent computes (EvidenceAnalysis, default settings) from these examples alone, corrected over the same family.
            var evidence = new FeatureEvidence(new FeatureKey(sae, i), null, top, [], [], []) { EnrichmentFamily = family };
            var expected = EvidenceAnalysis.Build(evidence).Enrichment.Residue;
            var actual = feature["annotationEnrichment"]!.AsArray();
            Assert.Equal(expected.Count, actual.Count);
            for (var j = 0; j < expected.Count; j++) AssertRow(expected[j], actual[j]!);
            if (actual.Count > 0) nonEmpty++;
        }
        Assert.True(nonEmpty > 0, "no feature of the Swiss-Prot corpus got an enrichment row");

        // `first` cuts the same ranked list; the default is 10.
        var busiest = Enumerable.Range(0, Features).MaxBy(i => data[$"f{i}"]!["annotationEnrichment"]!.AsArray().Count);
        var full = data[$"f{busiest}"]!["annotationEnrichment"]!.AsArray();
        var cut = (await platform.DataAsync($"query($s: ID!) {{ a: feature(sae: $s, index: {busiest}) {{ annotationEnrichment(first: 2) {{ term f1 }} }} "
            + $"b: feature(sae: $s, index: {busiest}) {{ annotationEnrichment {{ term }} }} }}", new { s = sae }));
        Assert.Equal(full.Take(2).Select(r => r!["term"]!.GetValue<string>()), cut["a"]!["annotationEnrichment"]!.AsArray().Select(r => r!["term"]!.GetValue<string>()));
        Assert.Equal(full.Take(10).Select(r => r!["term"]!.GetValue<string>()), cut["b"]!["annotationEnrichment"]!.AsArray().Select(r => r!["term"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_FASTA_corpus_gives_empty_lists_and_a_negative_first_is_BAD_USER_INPUT()
    {
        const string sae = TestEnvironment.SaeWithPlaceholderStats;
        var (corpus, _) = TestEnvironment.WriteCorpus(24, seed: 61);
        await ApiTestHelpers.IndexAsync(platform, sae, corpus, topExamples: 5);
        var data = await platform.DataAsync("query($s: ID!) { " + string.Join(' ', Enumerable.Range(0, Features).Select(i =>
            $"f{i}: feature(sae: $s, index: {i}) {{ topExamples(first: 1) {{ sequenceId }} annotationEnrichment {{ term }} }}")) + " }", new { s = sae });
        var features = Enumerable.Range(0, Features).Select(i => data[$"f{i}"]!).ToList();
        Assert.Contains(features, f => f["topExamples"]!.AsArray().Count > 0);   // features fired, yet nothing is annotated
        Assert.All(features, f => Assert.Empty(f["annotationEnrichment"]!.AsArray()));

        var (_, negative) = await platform.PostAsync($"{{ feature(sae: \"{sae}\", index: 1) {{ annotationEnrichment(first: -1) {{ term }} }} }}");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(negative));
        Assert.Contains("'first'", PlatformFactory.ErrorMessage(negative));
    }

    [Fact]
    public async Task On_the_random_demo_model_almost_no_feature_keeps_a_significant_annotation_and_every_answer_says_it_is_a_demo()
    {
        const string sae = TestEnvironment.DemoSae;
        // 70 real Swiss-Prot entries (the next one is longer than the model's 2048 tokens), 20 top examples per feature.
        var corpus = ApiTestHelpers.WriteUniProtSubset(70);
        await ApiTestHelpers.IndexAsync(platform, sae, corpus, topExamples: 20);
        const int codebook = 512;
        var data = await platform.DataAsync("{ saes { id isDemo notice } }");
        var features = new List<JsonNode>();
        foreach (var chunk in Enumerable.Range(0, codebook).Chunk(64))   // within the request limits (Esmc:Api:MaxAliases, 100; bodies of 64 KiB in the test host)
        {
            var part = await platform.DataAsync("query($s: ID!) { " + string.Join(' ', chunk.Select(i =>
                $"f{i}: feature(sae: $s, index: {i}) {{ notice topExamples(first: 1) {{ sequenceId }} annotationEnrichment(first: 1000) {{ term truePositives pValue adjustedPValue significant }} }}")) + " }",
                new { s = sae });
            features.AddRange(chunk.Select(i => part[$"f{i}"]!));
        }
        var active = features.Where(f => f["topExamples"]!.AsArray().Count > 0).ToList();
        var tested = active.Where(f => f["annotationEnrichment"]!.AsArray().Count > 0).ToList();
        var significant = active.Where(f => f["annotationEnrichment"]!.AsArray().Any(r => r!["significant"]!.GetValue<bool>())).ToList();
        var tests = active.Sum(f => f["annotationEnrichment"]!.AsArray().Count);
        var nominal = active.Sum(f => f["annotationEnrichment"]!.AsArray().Count(r => r!["pValue"]!.GetValue<double>() < 0.05));
        Console.WriteLine($"demo model: {active.Count} active features, {tested.Count} with tests, {tests} tests, {nominal} nominal p < 0.05, "
            + $"{significant.Count} features with a significant term after BH");
        foreach (var row in active.SelectMany(f => f["annotationEnrichment"]!.AsArray()).Where(r => r!["significant"]!.GetValue<bool>())
                     .OrderBy(r => r!["pValue"]!.GetValue<double>()).Take(10))
            Console.WriteLine($"  surviving: {row!["term"]} tp {row["truePositives"]} p {row["pValue"]} q {row["adjustedPValue"]}");
        Assert.True(active.Count >= 100, $"only {active.Count} demo features fired on the corpus");
        Assert.True(tests >= 1000, $"only {tests} tests were made");
        // Random weights mean nothing: at a 5% false discovery rate, at most a stray term or two may survive (65% of the
        // active features had a "significant" term with residues counted as independent and a per-feature Bonferroni).
        Assert.True(significant.Count <= Math.Max(2, active.Count / 100), $"{significant.Count} of {active.Count} demo features have a significant term");

        // Every answer about the demo SAE says what it is; the golden tiny model's do not.
        var demo = data["saes"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == sae)!;
        Assert.True(demo["isDemo"]!.GetValue<bool>());
        Assert.Equal("random demo weights: features carry no biological meaning", demo["notice"]!.GetValue<string>());
        Assert.All(features, f => Assert.Equal(demo["notice"]!.GetValue<string>(), f["notice"]!.GetValue<string>()));
        var tiny = data["saes"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == TestEnvironment.SaeWithRealStats)!;
        Assert.False(tiny["isDemo"]!.GetValue<bool>());
        Assert.Null(tiny["notice"]);
        var analysis = await platform.DataAsync("query($s: ID!) { analyzeSequence(sae: $s, sequence: \"MKTAYIAKQR\") { notice } }", new { s = sae });
        Assert.Equal(demo["notice"]!.GetValue<string>(), analysis["analyzeSequence"]!["notice"]!.GetValue<string>());
        using var client = platform.CreateClient();
        var rest = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync($"/api/v1/saes/{sae}/features/3"))!;
        Assert.Equal(demo["notice"]!.GetValue<string>(), rest["notice"]!.GetValue<string>());
        var restSaes = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("/api/v1/saes"))!["saes"]!.AsArray();
        Assert.True(restSaes.Single(s => s!["id"]!.GetValue<string>() == sae)!["isDemo"]!.GetValue<bool>());
    }

    /// <summary>Benjamini-Hochberg written out from its definition, independently of EnrichmentFamily: q_(i) = min over j &gt;= i of m p_(j) / j.</summary>
    private static double[] BenjaminiHochberg(double[] p)
    {
        var m = p.Length;
        var order = Enumerable.Range(0, m).OrderBy(i => p[i]).ToArray();
        var q = new double[m];
        var running = 1.0;
        for (var r = m; r >= 1; r--)
        {
            var i = order[r - 1];
            running = Math.Min(running, p[i] * m / r);
            q[i] = Math.Min(1.0, running);
        }
        return q;
    }

    private static void AssertRow(Abstractions.Evidence.ConceptEnrichment expected, JsonNode actual)
    {
        Assert.Equal(expected.Concept, actual["term"]!.GetValue<string>());
        Assert.Equal(expected.Concept.Split(':')[0], actual["type"]!.GetValue<string>());
        Assert.Equal(expected.TruePositives, actual["truePositives"]!.GetValue<int>());
        Assert.Equal(expected.FalsePositives, actual["falsePositives"]!.GetValue<int>());
        Assert.Equal(expected.FalseNegatives, actual["falseNegatives"]!.GetValue<int>());
        Assert.Equal(expected.Precision, actual["precision"]!.GetValue<double>());
        Assert.Equal(expected.Recall, actual["recall"]!.GetValue<double>());
        Assert.Equal(expected.F1, actual["f1"]!.GetValue<double>());
        Assert.Equal(expected.FoldEnrichment, actual["foldEnrichment"]!.GetValue<double>());
        Assert.Equal(expected.PValue, actual["pValue"]!.GetValue<double>());
        Assert.Equal(expected.AdjustedPValue, actual["adjustedPValue"]!.GetValue<double>(), 14);
        Assert.Equal(expected.Significant, actual["significant"]!.GetValue<bool>());
    }
}
