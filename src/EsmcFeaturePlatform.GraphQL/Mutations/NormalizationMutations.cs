using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Mutation.importNormalizationStats and setNormalizationSource: where normalized values come from.</summary>
internal static class NormalizationMutations
{
    public static void Add(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<SaeType>>("importNormalizationStats")
            .Description("admin. Imports published per-feature max and idf for an SAE from a JSON file on the server's disk: {\"max\": [...], \"idf\": [...]}, one value per feature. "
                + "Imported statistics come first in the default order; the result's normalizationSource and normalizationExplanation say which source is in effect now (an admin's setNormalizationSource choice still wins).")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<StringGraphType>>("path", "The JSON file's path on the server, under one of the corpus roots (at most Esmc:Api:MaxImportBytes).")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "importNormalizationStats");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                await queries.ImportStatisticsAsync(sae, c.GetArgument<string>("path"));
                return sae;
            });

        mutation.Field<NonNullGraphType<SaeType>>("setNormalizationSource")
            .Description("admin. Chooses the source of normalization statistics for an SAE (CHECKPOINT, IMPORTED or CORPUS; it must exist); null returns to the default order (imported, then real checkpoint statistics, then corpus statistics).")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NormalizationSourceType>("source", "The source to use (BAD_USER_INPUT when the SAE does not have it); null returns to the default order.")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "setNormalizationSource");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                await queries.ChooseNormalizationSourceAsync(sae, c.GetArgument<NormalizationSource?>("source"));
                return sae;
            });
    }
}
