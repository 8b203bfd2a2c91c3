using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>A feature's data imported from a published feature dataset (importFeatureDataset), as the API shows it.</summary>
public sealed record ImportedFeatureView(string SaeId, ImportedFeatureData Data);

/// <summary>A reference protein named by a dataset, with the UniProt page it links to.</summary>
public sealed record ReferenceExampleView(string Id, string Database)
{
    /// <summary>UniRef90 cluster ids (UniRef90_...) open the cluster page; other ids are UniProtKB accessions.</summary>
    public string Url => Database == "UNIREF90"
        ? $"https://www.uniprot.org/uniref/{Uri.EscapeDataString(Id)}"
        : $"https://www.uniprot.org/uniprotkb/{Uri.EscapeDataString(Id)}/entry";
}

public sealed class ImportedFeatureType : ObjectGraphType<ImportedFeatureView>
{
    public ImportedFeatureType()
    {
        Name = "ImportedFeatureData";
        Description = "What a published feature dataset says about the feature besides its description (imported by importFeatureDataset).";
        Field<NonNullGraphType<StringGraphType>>("dataset").Resolve(c => c.Source.Data.Provenance.Dataset);
        Field<StringGraphType>("revision").Resolve(c => c.Source.Data.Provenance.Revision);
        Field<NonNullGraphType<StringGraphType>>("file").Resolve(c => c.Source.Data.Provenance.File);
        Field<StringGraphType>("category").Resolve(c => c.Source.Data.Category);
        Field<StringGraphType>("activationPattern").Resolve(c => c.Source.Data.ActivationPattern);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("exemplarFamilies").Resolve(c => c.Source.Data.ExemplarFamilies);
        Field<FloatGraphType>("threshold").Resolve(c => c.Source.Data.Threshold);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ReferenceExampleType>>>>("referenceExamples")
            .Description("The dataset's top UniRef90 clusters and top Swiss-Prot proteins for this feature, with UniProt links.")
            .Resolve(c => c.Source.Data.TopUniRefIds.Select(id => new ReferenceExampleView(id, "UNIREF90"))
                .Concat(c.Source.Data.TopSwissProtIds.Select(id => new ReferenceExampleView(id, "SWISSPROT"))).ToArray());
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureType>>>>("publishedNeighbors")
            .Description("The dataset's nearest features by decoder direction (shown beside the platform's own nearestFeatures).")
            .Resolve(c => c.Source.Data.PublishedNeighbors.Select(i => new FeatureView(c.Source.SaeId, i)).ToArray());
    }
}

public sealed class ReferenceExampleType : ObjectGraphType<ReferenceExampleView>
{
    public ReferenceExampleType()
    {
        Name = "ReferenceExample";
        Field<NonNullGraphType<StringGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("database").Description("UNIREF90 or SWISSPROT.").Resolve(c => c.Source.Database);
        Field<NonNullGraphType<StringGraphType>>("url").Resolve(c => c.Source.Url);
    }
}

public sealed class ImportedStatisticsType : ObjectGraphType<ImportedStatistics>
{
    public ImportedStatisticsType()
    {
        Name = "ImportedStatistics";
        Description = "Normalization statistics imported for an SAE (importNormalizationStats or importFeatureDataset).";
        Field<NonNullGraphType<StringGraphType>>("source").Resolve(c => c.Source.SourcePath);
        Field<NonNullGraphType<StringGraphType>>("importedAt").Resolve(c => c.Source.ImportedAt.UtcDateTime.ToString("O"));
        Field<FloatGraphType>("corpusSize").Description("Proteins of the corpus the statistics were computed over, when known.").Resolve(c => (double?)c.Source.CorpusSize);
        Field<NonNullGraphType<IntGraphType>>("featuresWithMax").Description("Features with a positive maximum (the others normalize to 0).")
            .Resolve(c => c.Source.Stats.Max.Count(m => m > 0));
    }
}
