using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Corpus;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Feature.annotationEnrichment over real HTTP on a real silo after indexing real Swiss-Prot entries: every feature's
/// rows are exactly the description agent's residue-level enrichment of the same top examples, with the annotations
/// read independently from the fixture file; a FASTA corpus (no annotations) gives empty lists.
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
            // What the agent computes (EvidenceAnalysis, default settings) from these examples alone.
            var expected = EvidenceAnalysis.Build(new FeatureEvidence(new FeatureKey(sae, i), null, top, [], [], [])).Enrichment.Residue;
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
        Assert.Equal(expected.AdjustedPValue, actual["adjustedPValue"]!.GetValue<double>());
        Assert.Equal(expected.Significant, actual["significant"]!.GetValue<bool>());
    }
}
