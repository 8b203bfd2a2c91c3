using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.screeningEvents: the biosecurity screening audit log.</summary>
internal static class ScreeningQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<ScreeningEventConnectionType>>("screeningEvents")
            .Description("admin. The biosecurity screening audit log, newest first.")
            .Argument<IntGraphType>("first", a =>
            {
                a.DefaultValue = 50;
                a.Description = "Events per page, 0 to Esmc:Api:MaxPageSize.";
            })
            .Argument<StringGraphType>("after", "The endCursor of the previous page; null for the newest events.")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "screeningEvents");
                var first = c.Queries().RequirePageSize(c.GetArgument<int?>("first") ?? 50, "first");
                try
                {
                    return await c.RequestServices!.GetRequiredService<IScreeningAuditLog>().ReadAsync(first, c.GetArgument<string?>("after"), c.CancellationToken);
                }
                catch (ArgumentException ex)
                {
                    throw PlatformError.BadInput(ex.Message);
                }
            });
    }
}
