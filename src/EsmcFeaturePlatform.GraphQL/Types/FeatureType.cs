using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record FeatureView(string SaeId, int Index)
{
    public FeatureKey Key => new(SaeId, Index);
}

public sealed class FeatureType : ObjectGraphType<FeatureView>
{
    public FeatureType()
    {
        Name = "Feature";
        Description = "One SAE feature: a direction in the model's hidden states that fires on some residues of some proteins.";
        Field<NonNullGraphType<IdGraphType>>("sae").Description("The SAE id (Sae.id) the feature belongs to.").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<IntGraphType>>("index").Description("The feature index, 0 to Sae.codebookSize - 1.").Resolve(c => c.Source.Index);
        Field<StringGraphType>("notice").Description("Sae.notice of the feature's SAE: set when its base model is the random demo model.")
            .ResolveAsync(async c => (await c.Queries().RequireSaeAsync(c.Source.SaeId)).Notice);
        Field<FeatureStatsType>("stats").Description("Statistics of the corpus indexed on this platform (source CORPUS).")
            .Resolve(c => new DataLoaderProjection<FeatureStats, FeatureStatsView>(c.User().Loaders.Stats.Load(c.Source.Key), s => s is null ? null : FeatureStatsView.FromCorpus(s)));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActivationExampleType>>>>("topExamples").Description("The proteins of the indexed corpus where the feature is strongest (by per-protein max), highest first, ties by sequence id; empty if it never fired.")
            .Argument<NonNullGraphType<IntGraphType>>("first", a =>
            {
                a.DefaultValue = 20;
                a.Description = "How many examples, 0 to Esmc:Api:MaxPageSize (at most the topExamples the corpus was indexed with are kept).";
            })
            .ResolveAsync(async c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return await c.Queries().Reader.TopExamplesAsync(c.Source.Key, first);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActivationExampleType>>>>("quantileSamples")
            .Description("Examples spread over the feature's activation range (a uniform sample of the proteins it fires in, taken at evenly spaced ranks), highest first.")
            .Argument<NonNullGraphType<IntGraphType>>("count", a =>
            {
                a.DefaultValue = 10;
                a.Description = "How many examples, 0 to Esmc:Api:MaxPageSize; fewer when the stored sample is smaller.";
            })
            .ResolveAsync(async c =>
            {
                var count = c.Queries().RequirePageSize(c.GetArgument<int>("count"), "count");
                return await c.Queries().Reader.QuantileSamplesAsync(c.Source.Key, count);
            });
        Field<DescriptionVersionType>("description")
            .Description("The latest APPROVED version, else the latest version, else null.")
            .Resolve(c => c.User().Loaders.CurrentDescriptions.Load(c.Source.Key));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<DescriptionVersionType>>>>("descriptions")
            .Description("The whole history, oldest first.")
            .Resolve(c => new DataLoaderProjection<DescriptionVersion[], DescriptionVersion[]>(c.User().Loaders.Histories.Load(c.Source.Key), h => h ?? []));
        Field<ImportedFeatureType>("imported")
            .Description("Fields, reference examples and neighbours imported from a published feature dataset; null when none was imported.")
            .ResolveAsync(async c => await c.Queries().Reader.ImportedAsync(c.Source.Key) is { } data
                ? new ImportedFeatureView(c.Source.SaeId, data) : null);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureNeighborType>>>>("nearestFeatures")
            .Description("The features whose SAE decoder rows have the highest cosine with this one's, highest first (this feature excluded).")
            .Argument<NonNullGraphType<IntGraphType>>("first", a =>
            {
                a.DefaultValue = 10;
                a.Description = "How many neighbours, 0 to Esmc:Api:MaxPageSize.";
            })
            .Resolve(c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return new DataLoaderProjection<FeatureNeighborView[], FeatureNeighborView[]>(
                    c.User().Loaders.Neighbors.Load(new NeighborRequest(c.Source.Key, first)), n => n ?? []);
            });
        Field<NonNullGraphType<ActivationHistogramType>>("activationHistogram")
            .Description("How strongly the feature fires in the proteins it fires in: each protein's peak activation, over the uniform sample of "
                + "activating proteins indexing keeps (up to Esmc:Indexing:SampleCapacity), in equal bins from 0 to the feature's max activation.")
            .Argument<NonNullGraphType<IntGraphType>>("bins", a =>
            {
                a.DefaultValue = 20;
                a.Description = "Number of equal-width bins, 1 to 200.";
            })
            .ResolveAsync(async c =>
            {
                var bins = c.GetArgument<int>("bins");
                if (bins is < 1 or > 200) throw PlatformError.BadInput($"Argument 'bins' must be between 1 and 200; got {bins}.");
                return ActivationHistogramView.Of(await c.Queries().Reader.SampleAsync(c.Source.Key), bins);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<AnnotationEnrichmentType>>>>("annotationEnrichment")
            .Description("UniProt feature types and named domains/sites annotated where the feature is active in its top examples "
                + "(the description agent's residue-level annotation enrichment): one row per term tested, significant ones first "
                + "(Benjamini-Hochberg over every feature x term of the SAE), then by F1. Empty when no example has annotations "
                + "(e.g. a FASTA corpus) or the feature never fired.")
            .Argument<NonNullGraphType<IntGraphType>>("first", a =>
            {
                a.DefaultValue = 10;
                a.Description = "How many rows, 0 to Esmc:Api:MaxPageSize (the ranking is over all rows; this only cuts it).";
            })
            .Resolve(c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return new DataLoaderProjection<Abstractions.Evidence.ConceptEnrichment[], Abstractions.Evidence.ConceptEnrichment[]>(
                    c.User().Loaders.Enrichment.Load(c.Source.Key), e => [.. (e ?? []).Take(first)]);
            });
    }
}
