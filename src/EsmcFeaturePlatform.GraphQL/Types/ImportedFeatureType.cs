using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>A feature's data imported from a published feature dataset (importFeatureDataset), as the API shows it.</summary>
public sealed record ImportedFeatureView(string SaeId, ImportedFeatureData Data);

public sealed class ImportedFeatureType : ObjectGraphType<ImportedFeatureView>
{
    public ImportedFeatureType()
    {
        Name = "ImportedFeatureData";
        Description = "What a published feature dataset says about the feature besides its description (imported by importFeatureDataset).";
        Field<NonNullGraphType<StringGraphType>>("dataset").Description("The dataset the data came from (e.g. biohub/ESMC-SAE-Features).").Resolve(c => c.Source.Data.Provenance.Dataset);
        Field<StringGraphType>("revision").Description("The dataset revision (commit) imported; null when unknown.").Resolve(c => c.Source.Data.Provenance.Revision);
        Field<NonNullGraphType<StringGraphType>>("file").Description("The dataset file the row came from.").Resolve(c => c.Source.Data.Provenance.File);
        Field<StringGraphType>("category").Description("The dataset's category of the feature (its own vocabulary); null when it gives none.").Resolve(c => c.Source.Data.Category);
        Field<StringGraphType>("activationPattern").Description("The dataset's activation pattern of the feature (e.g. how it spreads along a sequence); null when it gives none.").Resolve(c => c.Source.Data.ActivationPattern);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("exemplarFamilies").Description("Protein families the dataset names as exemplars of the feature; empty when it names none.").Resolve(c => c.Source.Data.ExemplarFamilies);
        Field<FloatGraphType>("threshold").Description("The dataset's activation threshold for calling the feature active (its own units); null when it gives none.").Resolve(c => c.Source.Data.Threshold);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ReferenceExampleType>>>>("referenceExamples")
            .Description("The dataset's top UniRef90 clusters and top Swiss-Prot proteins for this feature, with UniProt links.")
            .Resolve(c => c.Source.Data.TopUniRefIds.Select(id => new ReferenceExampleView(id, "UNIREF90"))
                .Concat(c.Source.Data.TopSwissProtIds.Select(id => new ReferenceExampleView(id, "SWISSPROT"))).ToArray());
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureType>>>>("publishedNeighbors")
            .Description("The dataset's nearest features by decoder direction (shown beside the platform's own nearestFeatures).")
            .Resolve(c => c.Source.Data.PublishedNeighbors.Select(i => new FeatureView(c.Source.SaeId, i)).ToArray());
    }
}
