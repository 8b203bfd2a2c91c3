using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class ImportedStatisticsType : ObjectGraphType<ImportedStatistics>
{
    public ImportedStatisticsType()
    {
        Name = "ImportedStatistics";
        Description = "Normalization statistics imported for an SAE (importNormalizationStats or importFeatureDataset).";
        Field<NonNullGraphType<StringGraphType>>("source").Description("The imported file (and, for a dataset, its name and revision).").Resolve(c => c.Source.SourcePath);
        Field<NonNullGraphType<StringGraphType>>("importedAt").Description("When the statistics were imported (UTC, ISO 8601).").Resolve(c => c.Source.ImportedAt.UtcDateTime.ToString("O"));
        Field<FloatGraphType>("corpusSize").Description("Proteins of the corpus the statistics were computed over, when known.").Resolve(c => (double?)c.Source.CorpusSize);
        Field<NonNullGraphType<IntGraphType>>("featuresWithMax").Description("Features with a positive maximum (the others normalize to 0).")
            .Resolve(c => c.Source.Stats.Max.Count(m => m > 0));
    }
}
