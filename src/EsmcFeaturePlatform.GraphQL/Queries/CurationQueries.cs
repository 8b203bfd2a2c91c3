using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.reviewQueue: the features whose descriptions await review.</summary>
internal static class CurationQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<ReviewQueueConnectionType>>("reviewQueue")
            .Description("The review queue by feature index: with PROPOSED (the default), every feature that has any version still awaiting review (pendingVersions lists them all, also older ones when a later version was reviewed first); with APPROVED or REJECTED, features whose LATEST version has that status.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<DescriptionStatusType>>("status", a =>
            {
                a.DefaultValue = DescriptionStatus.Proposed;
                a.Description = "PROPOSED: features with any version awaiting review; APPROVED or REJECTED: features whose latest version has that status.";
            })
            .Argument<DescriptionSourceType>("source", "Only features whose latest version has this source; null for any source.")
            .Argument<NonNullGraphType<IntGraphType>>("first", a =>
            {
                a.DefaultValue = 20;
                a.Description = "Features per page, 0 to Esmc:Api:MaxPageSize.";
            })
            .Argument<StringGraphType>("after", "The endCursor of the previous page; null for the first page.")
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var first = queries.RequirePageSize(c.GetArgument<int>("first"), "first");
                var after = DecodeQueueCursor(c.GetArgument<string?>("after"));
                var page = await queries.GetReviewQueueAsync(sae.Id, c.GetArgument<DescriptionStatus>("status"), c.GetArgument<DescriptionSource?>("source"), first, after);
                var edges = page.Entries.Select(e => new ReviewQueueEdgeView(EncodeQueueCursor(e.Index), new FeatureView(sae.Id, e.Index), e)).ToArray();
                return new ReviewQueueView(page.TotalCount, page.PendingVersionCount, edges, new PageInfoView(page.HasNextPage, edges.Length == 0 ? null : edges[^1].Cursor));
            });
    }

    private const string QueueCursorPrefix = "rq:";

    private static string EncodeQueueCursor(int index) => Convert.ToBase64String(Encoding.UTF8.GetBytes(QueueCursorPrefix + index));

    private static int DecodeQueueCursor(string? cursor)
    {
        if (cursor is null) return -1;
        try
        {
            var raw = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            if (raw.StartsWith(QueueCursorPrefix, StringComparison.Ordinal) && int.TryParse(raw.AsSpan(QueueCursorPrefix.Length), out var index) && index >= 0)
                return index;
        }
        catch (FormatException) { }
        throw PlatformError.BadInput($"Argument 'after' ({InputExcerpt.Quote(cursor)}) is not a cursor returned by reviewQueue.");
    }
}
