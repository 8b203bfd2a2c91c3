using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class NormalizationSourceType : EnumerationGraphType
{
    public NormalizationSourceType()
    {
        Name = "NormalizationSource";
        Description = "Where normalization statistics (per-feature max and idf) come from.";
        Add("CHECKPOINT", NormalizationSource.Checkpoint, "The SAE checkpoint's own statistics (only when they are real, not all-ones placeholders).");
        Add("IMPORTED", NormalizationSource.Imported, "Statistics an admin imported (importNormalizationStats).");
        Add("CORPUS", NormalizationSource.Corpus, "Statistics of the corpus indexed on this platform (indexCorpus).");
    }
}
