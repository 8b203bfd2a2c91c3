using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.feature: one SAE feature by SAE and index.</summary>
internal static class FeatureQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<FeatureType>("feature")
            .Description("One feature of an SAE. Every index of the codebook is a feature, described or not; an index out of range is BAD_USER_INPUT.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<IntGraphType>>("index", "The feature index, 0 to Sae.codebookSize - 1.")
            .ResolveAsync(async c =>
            {
                var sae = await c.Queries().RequireSaeAsync(c.GetArgument<string>("sae"));
                var index = c.GetArgument<int>("index");
                FeaturePlatformQueries.RequireIndex(sae, index);
                return new FeatureView(sae.Id, index);
            });
    }
}
