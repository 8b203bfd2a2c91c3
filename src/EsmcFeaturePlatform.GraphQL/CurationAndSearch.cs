using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record PageInfoView(bool HasNextPage, string? EndCursor);

public sealed record SearchEdgeView(FeatureSearchHit Hit, FeatureView Node);

public sealed record SearchConnectionView(int TotalCount, SearchEdgeView[] Edges, PageInfoView PageInfo);

public sealed record HighlightView(string Field, string[] Snippets);

public sealed record ReviewQueueEdgeView(string Cursor, FeatureView Node, CurationEntry Entry);

public sealed record ReviewQueueView(int TotalCount, int PendingVersionCount, ReviewQueueEdgeView[] Edges, PageInfoView PageInfo);

public sealed class ReviewDecisionType : EnumerationGraphType<ReviewDecision>
{
    public ReviewDecisionType() => Name = "ReviewDecision";
}

public sealed class PageInfoType : ObjectGraphType<PageInfoView>
{
    public PageInfoType()
    {
        Name = "PageInfo";
        Field<NonNullGraphType<BooleanGraphType>>("hasNextPage").Resolve(c => c.Source.HasNextPage);
        Field<StringGraphType>("endCursor").Resolve(c => c.Source.EndCursor);
    }
}

public sealed class HighlightType : ObjectGraphType<HighlightView>
{
    public HighlightType()
    {
        Name = "SearchHighlight";
        Description = "Snippets of one indexed field with the matched terms in <em>…</em> (HTML-escaped otherwise).";
        Field<NonNullGraphType<StringGraphType>>("field").Resolve(c => c.Source.Field);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("snippets").Resolve(c => c.Source.Snippets);
    }
}

public sealed class FeatureSearchEdgeType : ObjectGraphType<SearchEdgeView>
{
    public FeatureSearchEdgeType()
    {
        Name = "FeatureSearchEdge";
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Hit.Cursor);
        Field<NonNullGraphType<FloatGraphType>>("score").Resolve(c => c.Source.Hit.Score);
        Field<NonNullGraphType<FeatureType>>("node").Resolve(c => c.Source.Node);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<HighlightType>>>>("highlights")
            .Resolve(c => HighlightsByField(c.Source.Hit.Highlights));
    }

    /// <summary>Highlights in field-name order (a stable order for clients), without LINQ: every search result resolves this 20 times.</summary>
    private static HighlightView[] HighlightsByField(IReadOnlyDictionary<string, string[]> highlights)
    {
        var views = new HighlightView[highlights.Count];
        var i = 0;
        foreach (var (field, snippets) in highlights) views[i++] = new HighlightView(field, snippets);
        Array.Sort(views, static (a, b) => string.CompareOrdinal(a.Field, b.Field));
        return views;
    }
}

public sealed class FeatureSearchConnectionType : ObjectGraphType<SearchConnectionView>
{
    public FeatureSearchConnectionType()
    {
        Name = "FeatureSearchConnection";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureSearchEdgeType>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => c.Source.PageInfo);
    }
}

public sealed class ReviewQueueEdgeType : ObjectGraphType<ReviewQueueEdgeView>
{
    public ReviewQueueEdgeType()
    {
        Name = "ReviewQueueEdge";
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Cursor);
        Field<NonNullGraphType<FeatureType>>("node").Resolve(c => c.Source.Node);
        Field<NonNullGraphType<IntGraphType>>("latestVersion").Resolve(c => c.Source.Entry.LatestVersion);
        Field<NonNullGraphType<DescriptionSourceType>>("latestSource").Resolve(c => c.Source.Entry.LatestSource);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("pendingVersions")
            .Description("Every version of the feature still PROPOSED, oldest first.")
            .Resolve(c => c.Source.Entry.Pending);
    }
}

public sealed class ReviewQueueConnectionType : ObjectGraphType<ReviewQueueView>
{
    public ReviewQueueConnectionType()
    {
        Name = "ReviewQueueConnection";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Description("Matching features.").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<IntGraphType>>("pendingVersionCount").Description("With status PROPOSED: versions awaiting review over all matching features; else 0.")
            .Resolve(c => c.Source.PendingVersionCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ReviewQueueEdgeType>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => c.Source.PageInfo);
    }
}

/// <summary>The curation, description-job and search fields of Query and Mutation (contracts.md section 3 and extensions).</summary>
internal static class CurationAndSearchFields
{
    public const int MaxLabelLength = 200;
    public const int MaxTextLength = 20_000;

    public static void AddQueries(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<FeatureSearchConnectionType>>("searchFeatures")
            .Description("Keyword search over current descriptions (label, text) and annotation terms; Lucene syntax (phrases, prefix*, OR, NOT, label:term). An empty query lists every indexed feature (use with filters).")
            .Argument<NonNullGraphType<StringGraphType>>("query")
            .Argument<IdGraphType>("sae")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 20)
            .Argument<StringGraphType>("after")
            .Argument<ListGraphType<NonNullGraphType<DescriptionStatusType>>>("status", "Only features whose current description has one of these statuses.")
            .Argument<ListGraphType<NonNullGraphType<DescriptionSourceType>>>("source", "Only features whose current description has one of these sources.")
            .Argument<FloatGraphType>("minScore", "Only features whose current description's score is at least this.")
            .Argument<IntGraphType>("minDocumentCount")
            .Argument<IntGraphType>("maxDocumentCount")
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

        query.Field<NonNullGraphType<ReviewQueueConnectionType>>("reviewQueue")
            .Description("The review queue by feature index: with PROPOSED (the default), every feature that has any version still awaiting review (pendingVersions lists them all, also older ones when a later version was reviewed first); with APPROVED or REJECTED, features whose LATEST version has that status.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<DescriptionStatusType>>("status", a => a.DefaultValue = DescriptionStatus.Proposed)
            .Argument<DescriptionSourceType>("source")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 20)
            .Argument<StringGraphType>("after")
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var first = queries.RequirePageSize(c.GetArgument<int>("first"), "first");
                var after = DecodeQueueCursor(c.GetArgument<string?>("after"));
                var page = await queries.Grains.GetGrain<ICurationIndexGrain>(sae.Id)
                    .PageAsync(c.GetArgument<DescriptionStatus>("status"), c.GetArgument<DescriptionSource?>("source"), first, after);
                var edges = page.Entries.Select(e => new ReviewQueueEdgeView(EncodeQueueCursor(e.Index), new FeatureView(sae.Id, e.Index), e)).ToArray();
                return new ReviewQueueView(page.TotalCount, page.PendingVersionCount, edges, new PageInfoView(page.HasNextPage, edges.Length == 0 ? null : edges[^1].Cursor));
            });
    }

    public static void AddMutations(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<DescriptionVersionType>>("proposeDescription")
            .Description("curator. Adds version n+1 (PROPOSED, HUMAN, author = the API key's name). With expectedVersion, refused with CONFLICT (nothing written) when the latest version differs.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<IntGraphType>>("index")
            .Argument<NonNullGraphType<StringGraphType>>("label")
            .Argument<NonNullGraphType<StringGraphType>>("text")
            .Argument<IntGraphType>("expectedVersion")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Curator, "proposeDescription");
                var key = await RequireFeatureAsync(c);
                var label = RequireText(c.GetArgument<string>("label"), "label", MaxLabelLength);
                var text = RequireText(c.GetArgument<string>("text"), "text", MaxTextLength);
                var expected = c.GetArgument<int?>("expectedVersion");
                if (expected is < 0) throw PlatformError.BadInput($"Argument 'expectedVersion' must be 0 (no version yet) or more; got {expected}.");
                var outcome = await c.Queries().Grains.GetGrain<IFeatureGrain>(key.ToString())
                    .ProposeDescriptionAsync(new DescriptionProposal(label, text, user.Caller.Name, expected));
                return Unwrap(outcome);
            });

        mutation.Field<NonNullGraphType<DescriptionVersionType>>("reviewDescription")
            .Description("curator. Approves or rejects a PROPOSED version, recording the reviewer (the API key's name) and the time; approving makes it the feature's description (earlier approved versions stay in the history). Reviewing a version twice is a CONFLICT naming who reviewed it; approving a version one proposed oneself is FORBIDDEN unless Esmc:Curation:AllowSelfApproval is set.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<IntGraphType>>("index")
            .Argument<NonNullGraphType<IntGraphType>>("version")
            .Argument<NonNullGraphType<ReviewDecisionType>>("decision")
            .Argument<StringGraphType>("note")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Curator, "reviewDescription");
                var key = await RequireFeatureAsync(c);
                var version = c.GetArgument<int>("version");
                if (version < 1) throw PlatformError.BadInput($"Argument 'version' must be 1 or more; got {version}.");
                var note = c.GetArgument<string?>("note");
                if (note is { Length: > MaxTextLength }) throw PlatformError.BadInput($"Argument 'note' is longer than {MaxTextLength} characters.");
                var allowSelf = c.RequestServices!.GetRequiredService<Microsoft.Extensions.Options.IOptions<CurationOptions>>().Value.AllowSelfApproval;
                var outcome = await c.Queries().Grains.GetGrain<IFeatureGrain>(key.ToString())
                    .ReviewDescriptionAsync(new DescriptionReview(version, c.GetArgument<ReviewDecision>("decision"), note, user.Caller.Name, allowSelf));
                return Unwrap(outcome);
            });

        mutation.Field<NonNullGraphType<JobType>>("describeFeatures")
            .Description("curator or admin. Runs the description agent (or, with no Esmc:Agent:Endpoint, the evidence-only describer) over the given features, all when null; results are stored as PROPOSED versions. Progress through job(id).")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<ListGraphType<NonNullGraphType<IntGraphType>>>("indices")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Curator, "describeFeatures");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var indices = c.GetArgument<int[]?>("indices");
                if (indices is not null)
                {
                    if (indices.Length == 0) throw PlatformError.BadInput("Argument 'indices' is empty; pass null to describe every feature.");
                    foreach (var i in indices) FeaturePlatformQueries.RequireIndex(sae, i, "indices");
                    indices = [.. indices.Distinct()];
                }
                var id = JobKinds.NewDescribeFeaturesId();
                return await queries.Grains.GetGrain<IDescribeJobGrain>(id)
                    .StartAsync(new DescribeFeaturesRequest(sae.Id, indices, sae.CodebookSize, user.Caller.Name));
            });

        mutation.Field<NonNullGraphType<IntGraphType>>("rebuildSearchIndex")
            .Description("admin. Rebuilds the SAE's search documents from grain state (descriptions, statistics, annotation terms); returns how many were indexed.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "rebuildSearchIndex");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var index = c.RequestServices!.GetService<IFeatureIndex>()
                    ?? throw new PlatformError(ErrorCodes.Internal, "Search is not configured on this server (Esmc:Search:Provider).");
                // Read everything first (a page at a time) so a failure while reading leaves the old documents in place.
                var documents = new List<FeatureDocument>();
                await foreach (var row in queries.Reader.EnumerateAsync(sae, 0, withAnnotationTerms: true, c.CancellationToken))
                    if (row.Snapshot.HasContent) documents.Add(row.ToDocument());
                await index.DeleteSaeAsync(sae.Id, c.CancellationToken);
                foreach (var chunk in documents.Chunk(1024)) await index.UpsertAsync(chunk, c.CancellationToken);
                return documents.Count;
            });
    }

    private static async Task<FeatureKey> RequireFeatureAsync(IResolveFieldContext c)
    {
        var sae = await c.Queries().RequireSaeAsync(c.GetArgument<string>("sae"));
        var index = c.GetArgument<int>("index");
        FeaturePlatformQueries.RequireIndex(sae, index);
        return new FeatureKey(sae.Id, index);
    }

    private static string RequireText(string? value, string argument, int max)
    {
        if (string.IsNullOrWhiteSpace(value)) throw PlatformError.BadInput($"Argument '{argument}' is empty.");
        value = value.Trim();
        if (value.Length > max) throw PlatformError.BadInput($"Argument '{argument}' is {value.Length} characters long; at most {max} are allowed.");
        return value;
    }

    private static DescriptionVersion Unwrap(CurationOutcome outcome) => outcome.Failure switch
    {
        CurationFailure.None => outcome.Version!,
        CurationFailure.Conflict => throw new PlatformError(ErrorCodes.Conflict, outcome.Message ?? "Conflict."),
        CurationFailure.SelfApproval => throw new PlatformError(ErrorCodes.Forbidden, outcome.Message ?? "A curator may not approve their own proposal."),
        _ => throw new PlatformError(ErrorCodes.NotFound, outcome.Message ?? "Not found."),
    };

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
