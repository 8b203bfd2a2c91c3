using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class ScreeningEventConnectionType : ObjectGraphType<ScreeningEventPage>
{
    public ScreeningEventConnectionType()
    {
        Name = "ScreeningEventConnection";
        Description = "A page of the screening audit log, newest first.";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Description("All events in the log.").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ScreeningEventEdgeType>>>>("edges").Description("This page's events, newest first.").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Description("Paging forward (to older events).").Resolve(c => new PageInfoView(c.Source.HasNextPage, c.Source.EndCursor));
    }
}
