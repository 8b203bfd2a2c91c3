using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

internal static class ContextExtensions
{
    public static FeaturePlatformQueries Queries(this IResolveFieldContext context) =>
        (FeaturePlatformQueries)context.RequestServices!.GetService(typeof(FeaturePlatformQueries))!;

    public static PlatformUserContext User(this IResolveFieldContext context) => (PlatformUserContext)context.UserContext;
}
