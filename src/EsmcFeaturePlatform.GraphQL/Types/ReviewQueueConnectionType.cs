using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record ReviewQueueView(int TotalCount, int PendingVersionCount, ReviewQueueEdgeView[] Edges, PageInfoView PageInfo);

public sealed class ReviewQueueConnectionType : ObjectGraphType<ReviewQueueView>
{
    public ReviewQueueConnectionType()
    {
        Name = "ReviewQueueConnection";
        Description = "A page of the review queue, by feature index.";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Description("Matching features.").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<IntGraphType>>("pendingVersionCount").Description("With status PROPOSED: versions awaiting review over all matching features; else 0.")
            .Resolve(c => c.Source.PendingVersionCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ReviewQueueEdgeType>>>>("edges").Description("This page's features, by index ascending.").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Description("Paging forward.").Resolve(c => c.Source.PageInfo);
    }
}
