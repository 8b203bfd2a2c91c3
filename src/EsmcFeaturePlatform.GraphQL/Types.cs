using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>What a FeatureActivation resolves from: value already raw or normalized, position only when pooled.</summary>
public sealed record ActivationView(string SaeId, int Index, float Value, int? Position);

public sealed record SequenceAnalysisView(string SaeId, int Length, ActivationView[][] Residues, ActivationView[] Pooled);

public sealed record FeatureView(string SaeId, int Index)
{
    public FeatureKey Key => new(SaeId, Index);
}

internal static class ContextExtensions
{
    public static FeaturePlatformQueries Queries(this IResolveFieldContext context) =>
        (FeaturePlatformQueries)context.RequestServices!.GetService(typeof(FeaturePlatformQueries))!;

    public static PlatformUserContext User(this IResolveFieldContext context) => (PlatformUserContext)context.UserContext;
}

public sealed class SaeType : ObjectGraphType<SaeDescriptor>
{
    public SaeType()
    {
        Name = "Sae";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("model").Resolve(c => c.Source.Model);
        Field<NonNullGraphType<IntGraphType>>("layer").Resolve(c => c.Source.Layer);
        Field<NonNullGraphType<IntGraphType>>("k").Resolve(c => c.Source.K);
        Field<NonNullGraphType<IntGraphType>>("codebookSize").Resolve(c => c.Source.CodebookSize);
        Field<NonNullGraphType<BooleanGraphType>>("hasNormalizationStats")
            .ResolveAsync(async c => await c.Queries().GetNormalizationSourceAsync(c.Source) != NormalizationSource.None);
        Field<StringGraphType>("normalizationSource")
            .Description("Where normalized values come from: CHECKPOINT, IMPORTED or CORPUS; null when there are no statistics.")
            .ResolveAsync(async c => await c.Queries().GetNormalizationSourceAsync(c.Source) switch
            {
                NormalizationSource.None => null,
                var source => source.ToString().ToUpperInvariant(),
            });
        Field<NonNullGraphType<IntGraphType>>("corpusSize").Description("Proteins indexed into this SAE.")
            .ResolveAsync(async c => (await c.Queries().GetCorpusStatisticsAsync(c.Source.Id, [])).CorpusSize);
        Field<NonNullGraphType<IntGraphType>>("dModel").Resolve(c => c.Source.DModel);
        Field<ImportedStatisticsType>("importedStatistics").Description("Imported normalization statistics, if any (used when the checkpoint's are placeholders).")
            .ResolveAsync(async c => await c.Queries().Grains.GetGrain<INormalizationStatsGrain>(c.Source.Id).GetImportedAsync());
    }
}

public sealed class FeatureActivationType : ObjectGraphType<ActivationView>
{
    public FeatureActivationType()
    {
        Name = "FeatureActivation";
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<NonNullGraphType<FloatGraphType>>("value").Resolve(c => FloatOutput.ToDouble(c.Source.Value));
        Field<IntGraphType>("position").Resolve(c => c.Source.Position);
        Field<FeatureType>("feature").Resolve(c => new FeatureView(c.Source.SaeId, c.Source.Index));
    }
}

public sealed class SequenceAnalysisType : ObjectGraphType<SequenceAnalysisView>
{
    public SequenceAnalysisType()
    {
        Name = "SequenceAnalysis";
        Field<NonNullGraphType<IdGraphType>>("sae").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<IntGraphType>>("length").Resolve(c => c.Source.Length);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureActivationType>>>>>>("residues")
            .Resolve(c => c.Source.Residues);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureActivationType>>>>("pooled").Resolve(c => c.Source.Pooled);
    }
}

public sealed class FeatureStatsType : ObjectGraphType<FeatureStats>
{
    public FeatureStatsType()
    {
        Name = "FeatureStats";
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<FloatGraphType>("maxActivation").Resolve(c => c.Source.MaxActivation is { } max ? FloatOutput.ToDouble(max) : null);
        Field<NonNullGraphType<IntGraphType>>("documentCount").Resolve(c => c.Source.DocumentCount);
        Field<NonNullGraphType<IntGraphType>>("corpusSize").Resolve(c => c.Source.CorpusSize);
        Field<FloatGraphType>("idf").Resolve(c => c.Source.Idf);
    }
}

public sealed class ActivationExampleType : ObjectGraphType<ActivationExample>
{
    public ActivationExampleType()
    {
        Name = "ActivationExample";
        Field<NonNullGraphType<StringGraphType>>("sequenceId").Resolve(c => c.Source.SequenceId);
        Field<NonNullGraphType<FloatGraphType>>("maxValue").Resolve(c => FloatOutput.ToDouble(c.Source.MaxValue));
        Field<NonNullGraphType<IntGraphType>>("position").Resolve(c => c.Source.Position);
        Field<NonNullGraphType<StringGraphType>>("sequence").Resolve(c => c.Source.Sequence);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FloatGraphType>>>>("activations")
            .Resolve(c => c.Source.Activations.Select(FloatOutput.ToDouble).ToArray());
    }
}

public sealed class DescriptionStatusType : EnumerationGraphType<DescriptionStatus>
{
    public DescriptionStatusType() => Name = "DescriptionStatus";
}

public sealed class DescriptionSourceType : EnumerationGraphType<DescriptionSource>
{
    public DescriptionSourceType() => Name = "DescriptionSource";
}

public sealed class DescriptionVersionType : ObjectGraphType<DescriptionVersion>
{
    public DescriptionVersionType()
    {
        Name = "DescriptionVersion";
        Field<NonNullGraphType<IntGraphType>>("version").Resolve(c => c.Source.Version);
        Field<NonNullGraphType<StringGraphType>>("label").Resolve(c => c.Source.Label);
        Field<NonNullGraphType<StringGraphType>>("text").Resolve(c => c.Source.Text);
        Field<NonNullGraphType<DescriptionStatusType>>("status").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<DescriptionSourceType>>("source").Resolve(c => c.Source.Source);
        Field<NonNullGraphType<StringGraphType>>("author").Resolve(c => c.Source.Author);
        Field<NonNullGraphType<StringGraphType>>("createdAt")
            .Resolve(c => c.Source.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        Field<FloatGraphType>("score").Resolve(c => c.Source.Score);
        Field<StringGraphType>("reviewNote").Resolve(c => c.Source.ReviewNote);
        Field<StringGraphType>("provenance").Description("For IMPORTED versions: the dataset, revision and file it came from.").Resolve(c => c.Source.Provenance);
    }
}

public sealed class FeatureType : ObjectGraphType<FeatureView>
{
    public FeatureType()
    {
        Name = "Feature";
        Field<NonNullGraphType<IdGraphType>>("sae").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<FeatureStatsType>("stats").Resolve(c => c.User().Loaders.Stats.Load(c.Source.Key));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActivationExampleType>>>>("topExamples")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 20)
            .ResolveAsync(async c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return await c.Queries().Grains.GetGrain<IFeatureGrain>(c.Source.Key.ToString()).GetTopExamplesAsync(first);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActivationExampleType>>>>("quantileSamples")
            .Description("Examples spread over the feature's activation range (a uniform sample of the proteins it fires in, taken at evenly spaced ranks), highest first.")
            .Argument<NonNullGraphType<IntGraphType>>("count", a => a.DefaultValue = 10)
            .ResolveAsync(async c =>
            {
                var count = c.Queries().RequirePageSize(c.GetArgument<int>("count"), "count");
                return await c.Queries().Grains.GetGrain<IFeatureGrain>(c.Source.Key.ToString()).GetQuantileSamplesAsync(count);
            });
        Field<DescriptionVersionType>("description")
            .Description("The latest APPROVED version, else the latest version, else null.")
            .Resolve(c => new DataLoaderProjection<DescriptionVersion[], DescriptionVersion>(c.User().Loaders.Descriptions.Load(c.Source.Key), CurrentDescription));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<DescriptionVersionType>>>>("descriptions")
            .Description("The whole history, oldest first.")
            .Resolve(c => new DataLoaderProjection<DescriptionVersion[], DescriptionVersion[]>(c.User().Loaders.Descriptions.Load(c.Source.Key), h => h ?? []));
        Field<ImportedFeatureType>("imported")
            .Description("Fields, reference examples and neighbours imported from a published feature dataset; null when none was imported.")
            .ResolveAsync(async c => await c.Queries().Grains.GetGrain<IFeatureGrain>(c.Source.Key.ToString()).GetImportedAsync() is { } data
                ? new ImportedFeatureView(c.Source.SaeId, data) : null);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureNeighborType>>>>("nearestFeatures")
            .Description("The features whose SAE decoder rows have the highest cosine with this one's, highest first (this feature excluded).")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 10)
            .Resolve(c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return new DataLoaderProjection<FeatureNeighborView[], FeatureNeighborView[]>(
                    c.User().Loaders.Neighbors.Load(new NeighborRequest(c.Source.Key, first)), n => n ?? []);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<AnnotationEnrichmentType>>>>("annotationEnrichment")
            .Description("UniProt feature types and named domains/sites that overlap the active residues of the feature's top examples "
                + "(the description agent's residue-level annotation enrichment): significant ones first, then by F1. Empty when no "
                + "example has annotations (e.g. a FASTA corpus) or the feature never fired.")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 10)
            .Resolve(c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return new DataLoaderProjection<Abstractions.Evidence.ConceptEnrichment[], Abstractions.Evidence.ConceptEnrichment[]>(
                    c.User().Loaders.Enrichment.Load(c.Source.Key), e => [.. (e ?? []).Take(first)]);
            });
    }

    public static DescriptionVersion? CurrentDescription(DescriptionVersion[]? history)
    {
        if (history is null || history.Length == 0) return null;
        return history.LastOrDefault(v => v.Status == DescriptionStatus.Approved) ?? history[^1];
    }
}

/// <summary>A loaded value mapped on the way out, still deferred so the batch stays whole.</summary>
public sealed class DataLoaderProjection<TIn, TOut>(global::GraphQL.DataLoader.IDataLoaderResult<TIn?> inner, Func<TIn?, TOut?> map)
    : global::GraphQL.DataLoader.IDataLoaderResult<TOut?>
{
    public async Task<TOut?> GetResultAsync(CancellationToken cancellationToken = default) => map(await inner.GetResultAsync(cancellationToken));

    async Task<object?> global::GraphQL.DataLoader.IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => await GetResultAsync(cancellationToken);
}

public sealed class JobStatusType : EnumerationGraphType<JobStatus>
{
    public JobStatusType() => Name = "JobStatus";
}

public sealed class JobType : ObjectGraphType<JobInfo>
{
    public JobType()
    {
        Name = "Job";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("kind").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<IdGraphType>>("sae").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<JobStatusType>>("status").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<IntGraphType>>("processed").Resolve(c => c.Source.Processed);
        Field<IntGraphType>("total").Resolve(c => c.Source.Total);
        Field<StringGraphType>("error").Resolve(c => c.Source.Error);
        Field<NonNullGraphType<StringGraphType>>("createdAt").Resolve(c => c.Source.CreatedAt.UtcDateTime.ToString("O"));
        Field<NonNullGraphType<StringGraphType>>("updatedAt").Resolve(c => c.Source.UpdatedAt.UtcDateTime.ToString("O"));
    }
}
