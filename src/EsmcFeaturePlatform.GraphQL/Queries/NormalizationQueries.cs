using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.normalizationStats and Query.normalizationSources: the per-feature max and idf that normalize values.</summary>
internal static class NormalizationQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureStatsType>>>>("normalizationStats")
            .Description("The normalization statistics in effect (what analyzeSequence(normalize: true) uses), each with its source; or those of `source`. "
                + "With no statistics at all: the corpus's (all never active). See normalizationSources to compare every source side by side.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("indices", "Feature indices (0 to Sae.codebookSize - 1), at most Esmc:Api:MaxPageSize; the answer keeps their order.")
            .Argument<NormalizationSourceType>("source", a => a.Description = "A specific source instead of the one in effect (BAD_USER_INPUT when the SAE does not have it).")
            .ResolveAsync(async c =>
            {
                var (sae, indices) = await RequireStatsArgumentsAsync(c);
                return await c.Queries().NormalizationStatsAsync(sae, indices, c.GetArgument<NormalizationSource?>("source"));
            });

        query.Field<NonNullGraphType<ListGraphType<NonNullGraphType<NormalizationSourceStatsType>>>>("normalizationSources")
            .Description("Every source of normalization statistics the SAE has (default order: imported, checkpoint, corpus), side by side, with the one in effect marked.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("indices", "Feature indices (0 to Sae.codebookSize - 1) whose statistics each source shows, at most Esmc:Api:MaxPageSize.")
            .ResolveAsync(async c =>
            {
                var (sae, indices) = await RequireStatsArgumentsAsync(c);
                return await c.Queries().NormalizationSourcesAsync(sae, indices);
            });
    }

    private static async Task<(SaeDescriptor Sae, int[] Indices)> RequireStatsArgumentsAsync(IResolveFieldContext c)
    {
        var queries = c.Queries();
        var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
        var indices = c.GetArgument<int[]>("indices") ?? [];
        if (indices.Length > queries.Options.MaxPageSize)
            throw PlatformError.BadInput($"Argument 'indices' holds {indices.Length} indices; at most {queries.Options.MaxPageSize} are allowed per call.");
        foreach (var index in indices) FeaturePlatformQueries.RequireIndex(sae, index, "indices");
        return (sae, indices);
    }
}
