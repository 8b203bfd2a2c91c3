using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class ScreeningEventEdgeType : ObjectGraphType<ScreeningEventEdge>
{
    public ScreeningEventEdgeType()
    {
        Name = "ScreeningEventEdge";
        Description = "One screening event in a page of the audit log.";
        Field<NonNullGraphType<StringGraphType>>("cursor").Description("Opaque position of this event; pass as `after` to continue after it.").Resolve(c => c.Source.Cursor);
        Field<NonNullGraphType<ScreeningEventType>>("node").Description("The event.").Resolve(c => c.Source);
    }
}
