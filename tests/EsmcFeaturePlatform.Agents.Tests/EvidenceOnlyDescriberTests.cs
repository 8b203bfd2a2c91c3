using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Output;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;

namespace EsmcFeaturePlatform.Agents.Tests;

public class EvidenceOnlyDescriberTests
{
    private readonly EvidenceOnlyDescriber _describer = new();

    [Fact]
    public async Task Transmembrane_feature_is_named_from_enrichment_without_a_model()
    {
        var result = await _describer.DescribeAsync(SyntheticFeature.Inside("TRANSMEM").Evidence());

        Assert.False(_describer.UsesLanguageModel);
        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal(DescriptionSource.Evidence, result.Source);
        Assert.Equal(EvidenceOnlyDescriber.AuthorName, result.Author);
        Assert.Equal("Transmembrane segment", result.Output!.Label);
        Assert.Equal(ActivationPatterns.Motif, result.Output.ActivationPattern);
        Assert.True(result.Output.Confidence > 0.9);
        Assert.Contains(result.Output.EvidenceCited, e => e.StartsWith("TRANSMEM F1 1.00", StringComparison.Ordinal));
        Assert.Contains("no language model was used", result.Output.Description, StringComparison.Ordinal);
        Assert.Empty(DescriberOutputSchema.Validate(result.Output));
        Assert.Null(result.Score);
        Assert.Equal(0, result.PromptTokens + result.CompletionTokens);
    }

    [Fact]
    public async Task Disulfide_cysteines_give_a_point_feature_label()
    {
        var feature = new SyntheticFeature("test/layer1", 5, p =>
        {
            var bonds = p.Annotations.Where(a => a.Type == "DISULFID").ToList();
            if (bonds.Count == 0) return null;
            var acts = new float[p.Sequence.Length];
            foreach (var b in bonds) { acts[b.Start - 1] = 6; acts[b.End - 1] = 6; }
            return acts;
        });
        var result = await _describer.DescribeAsync(feature.Evidence());
        Assert.Equal("Disulfide-bonded cysteine", result.Output!.Label);
        Assert.Equal(ActivationPatterns.Point, result.Output.ActivationPattern);
        Assert.Contains("peak residue is Cys", result.Output.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Feature_with_no_annotation_match_falls_back_to_composition()
    {
        // Every tryptophan of 30 proteins: no UniProt feature type tracks Trp, so the label comes from residue statistics.
        var feature = new SyntheticFeature("test/layer1", 6, p =>
            p.Sequence.Contains('W', StringComparison.Ordinal) && p.Sequence.Length < 600
                ? [.. p.Sequence.Select(c => c == 'W' ? 5f : 0f)]
                : null);
        var result = await _describer.DescribeAsync(feature.Evidence());
        Assert.True(result.Succeeded, result.Failure);
        Assert.Contains("Trp", result.Output!.Label, StringComparison.Ordinal);
        Assert.True(result.Output.Confidence < 0.5);
    }

    [Fact]
    public async Task No_activating_examples_is_a_failure_not_an_empty_description()
    {
        var evidence = SyntheticFeature.Inside("TRANSMEM").Evidence() with { TopExamples = [], QuantileExamples = [] };
        var result = await _describer.DescribeAsync(evidence);
        Assert.False(result.Succeeded);
        Assert.Contains("no activating examples", result.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DOMAIN: Protein kinase", "Protein kinase domain")]
    [InlineData("ZN_FING: C2H2-type", "C2H2-type zinc finger")]
    [InlineData("TRANSMEM", "Transmembrane segment")]
    [InlineData("DOMAIN: Ig-like C2-type domain", "Ig-like C2-type domain")]
    public void Concepts_get_readable_names(string concept, string expected) =>
        Assert.Equal(expected, EvidenceOnlyDescriber.ConceptName(concept));
}
