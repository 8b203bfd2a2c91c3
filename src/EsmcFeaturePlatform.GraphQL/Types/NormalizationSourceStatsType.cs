using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>One available normalization source with some of its features' statistics.</summary>
public sealed record NormalizationSourceView(NormalizationSourceStatistics Source, bool InEffect, bool Chosen, FeatureStatsView[] Features);

public sealed class NormalizationSourceStatsType : ObjectGraphType<NormalizationSourceView>
{
    public NormalizationSourceStatsType()
    {
        Name = "NormalizationSourceStats";
        Description = "One available source of normalization statistics, side by side with the others.";
        Field<NonNullGraphType<NormalizationSourceType>>("source").Description("The source these statistics come from.").Resolve(c => c.Source.Source.Source);
        Field<NonNullGraphType<BooleanGraphType>>("inEffect").Description("Whether normalize: true uses this source now.").Resolve(c => c.Source.InEffect);
        Field<NonNullGraphType<BooleanGraphType>>("chosenByAdmin").Description("True when an admin chose this source with setNormalizationSource.").Resolve(c => c.Source.Chosen);
        Field<IntGraphType>("corpusSize").Description("Proteins the statistics were computed over, when the source says.").Resolve(c => c.Source.Source.CorpusSize);
        Field<StringGraphType>("importedFrom").Description("For IMPORTED: the imported file (and dataset); null for other sources.").Resolve(c => c.Source.Source.ImportedFrom);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureStatsType>>>>("features").Description("The statistics of the features asked for, in the order asked.").Resolve(c => c.Source.Features);
    }
}
