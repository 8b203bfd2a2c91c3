using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Mutation.rebuildSearchIndex.</summary>
internal static class SearchMutations
{
    public static void Add(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<IntGraphType>>("rebuildSearchIndex")
            .Description("admin. Rebuilds the SAE's search documents from grain state (descriptions, statistics, annotation terms); returns how many were indexed.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id) whose documents are rebuilt; other SAEs' documents are untouched.")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "rebuildSearchIndex");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var index = c.RequestServices!.GetService<IFeatureIndex>()
                    ?? throw new PlatformError(ErrorCodes.Internal, "Search is not configured on this server (Esmc:Search:Provider).");
                return await queries.RebuildSearchIndexAsync(sae, index, c.CancellationToken);
            });
    }
}
