using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record SearchConnectionView(int TotalCount, SearchEdgeView[] Edges, PageInfoView PageInfo);

public sealed class FeatureSearchConnectionType : ObjectGraphType<SearchConnectionView>
{
    public FeatureSearchConnectionType()
    {
        Name = "FeatureSearchConnection";
        Description = "A page of search hits.";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Description("All features matching the query and filters (not only this page).").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureSearchEdgeType>>>>("edges").Description("This page's hits, best first.").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Description("Paging forward.").Resolve(c => c.Source.PageInfo);
    }
}
