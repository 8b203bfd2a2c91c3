using EsmcFeaturePlatform.Abstractions;
using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.searchFeatures: keyword search over described features.</summary>
internal static class SearchQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<FeatureSearchConnectionType>>("searchFeatures")
            .Description("Keyword search over current descriptions (label, text) and annotation terms; Lucene syntax (phrases, prefix*, OR, NOT, label:term). An empty query lists every indexed feature (use with filters).")
            .Argument<NonNullGraphType<StringGraphType>>("query", "The search text in Lucene classic syntax; empty lists every indexed feature. Refused with SCREENED when the biosecurity screening blocks it.")
            .Argument<IdGraphType>("sae", "Only features of this SAE (Sae.id); null searches every SAE.")
            .Argument<NonNullGraphType<IntGraphType>>("first", a =>
            {
                a.DefaultValue = 20;
                a.Description = "Hits per page, 0 to 100.";
            })
            .Argument<StringGraphType>("after", "The endCursor of the previous page; null for the first page.")
            .Argument<ListGraphType<NonNullGraphType<DescriptionStatusType>>>("status", "Only features whose current description has one of these statuses.")
            .Argument<ListGraphType<NonNullGraphType<DescriptionSourceType>>>("source", "Only features whose current description has one of these sources.")
            .Argument<FloatGraphType>("minScore", "Only features whose current description's score is at least this.")
            .Argument<IntGraphType>("minDocumentCount", "Only features active in at least this many proteins of the indexed corpus.")
            .Argument<IntGraphType>("maxDocumentCount", "Only features active in at most this many proteins of the indexed corpus.")
            .ResolveAsync(async c =>
            {
                await c.ScreenTextAsync(c.GetArgument<string>("query"), ScreeningEntryPoints.SearchFeatures);
                var index = c.RequestServices!.GetService<IFeatureIndex>()
                    ?? throw new PlatformError(ErrorCodes.Internal, "Search is not configured on this server (Esmc:Search:Provider).");
                var saeId = c.GetArgument<string?>("sae");
                if (saeId is not null) await c.Queries().RequireSaeAsync(saeId);
                var first = c.GetArgument<int>("first");
                if (first < 0 || first > FeatureIndexSchema.MaxPageSize)
                    throw PlatformError.BadInput($"Argument 'first' must be between 0 and {FeatureIndexSchema.MaxPageSize}; got {first}.");
                var request = new FeatureSearchQuery(c.GetArgument<string>("query") ?? "", saeId,
                    c.GetArgument<List<DescriptionStatus>?>("status"), c.GetArgument<List<DescriptionSource>?>("source"),
                    c.GetArgument<double?>("minScore"), c.GetArgument<int?>("minDocumentCount"), c.GetArgument<int?>("maxDocumentCount"),
                    first, c.GetArgument<string?>("after"));
                FeatureSearchResult result;
                try
                {
                    result = await index.SearchAsync(request, c.CancellationToken);
                }
                catch (SearchSyntaxException ex)
                {
                    throw PlatformError.BadInput($"Argument 'query' is not valid search syntax: {ex.Message}");
                }
                catch (ArgumentException ex)
                {
                    throw PlatformError.BadInput(ex.Message);
                }
                return new SearchConnectionView(result.TotalCount,
                    [.. result.Hits.Select(h => new SearchEdgeView(h, new FeatureView(h.SaeId, h.Index)))],
                    new PageInfoView(result.HasNextPage, result.EndCursor));
            });
    }
}
