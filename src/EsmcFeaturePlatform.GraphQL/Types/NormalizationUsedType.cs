using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class NormalizationUsedType : ObjectGraphType<NormalizationInEffect>
{
    public NormalizationUsedType()
    {
        Name = "NormalizationUsed";
        Description = "The normalization statistics an answer used, and where they come from.";
        Field<NonNullGraphType<NormalizationSourceType>>("source").Description("Where the statistics come from.").Resolve(c => c.Source.Source);
        Field<IntGraphType>("corpusSize").Description("Proteins the statistics were computed over, when the source says (the indexed corpus does; checkpoint and imported statistics do not).")
            .Resolve(c => c.Source.CorpusSize);
        Field<NonNullGraphType<BooleanGraphType>>("chosenByAdmin").Description("True when an admin chose this source (setNormalizationSource); false when the default order picked it.").Resolve(c => c.Source.Chosen is not null);
        Field<NonNullGraphType<StringGraphType>>("explanation").Description("Why this source is in effect, in one sentence.").Resolve(c => c.Source.Explanation);
        Field<StringGraphType>("importedFrom").Description("The imported file, for IMPORTED.").Resolve(c => c.Source.ImportedFrom);
    }
}
