using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// One feature's statistics as the API shows them: from the corpus indexed here (<c>Feature.stats</c>), or from the
/// normalization source a caller asked about, where max and idf are that source's and the counts are the corpus's.
/// </summary>
public sealed record FeatureStatsView(int Index, float? MaxActivation, int DocumentCount, int CorpusSize, double? Idf, NormalizationSource Source)
{
    public static FeatureStatsView FromCorpus(FeatureStats s) => new(s.Index, s.MaxActivation, s.DocumentCount, s.CorpusSize, s.Idf, NormalizationSource.Corpus);

    /// <summary>max and idf of <paramref name="stats"/> (a feature with max 0 never fired there: both null).</summary>
    public static FeatureStatsView FromSource(FeatureStats corpus, NormalizationStats stats, NormalizationSource source)
    {
        var max = stats.Max[corpus.Index];
        return max > 0
            ? new(corpus.Index, max, corpus.DocumentCount, corpus.CorpusSize, FloatOutput.ToDouble(stats.Idf[corpus.Index]), source)
            : new(corpus.Index, null, corpus.DocumentCount, corpus.CorpusSize, null, source);
    }
}

public sealed class FeatureStatsType : ObjectGraphType<FeatureStatsView>
{
    public FeatureStatsType()
    {
        Name = "FeatureStats";
        Description = "One feature's statistics: max activation and idf from a normalization source, counts from the corpus indexed here.";
        Field<NonNullGraphType<IntGraphType>>("index").Description("The feature index, 0 to Sae.codebookSize - 1.").Resolve(c => c.Source.Index);
        Field<FloatGraphType>("maxActivation").Description("From `source`: max raw activation; null if never active there.")
            .Resolve(c => c.Source.MaxActivation is { } max ? FloatOutput.ToDouble(max) : null);
        Field<NonNullGraphType<IntGraphType>>("documentCount").Description("Proteins of the corpus indexed here with the feature active (whatever `source` is: only the corpus has counts).")
            .Resolve(c => c.Source.DocumentCount);
        Field<NonNullGraphType<IntGraphType>>("corpusSize").Description("Proteins indexed here (whatever `source` is).").Resolve(c => c.Source.CorpusSize);
        Field<FloatGraphType>("idf").Description("From `source`: for CORPUS ln(corpusSize / documentCount); null when never active there.")
            .Resolve(c => c.Source.Idf);
        Field<NonNullGraphType<NormalizationSourceType>>("source").Description("Where maxActivation and idf come from.").Resolve(c => c.Source.Source);
    }
}
