using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record PageInfoView(bool HasNextPage, string? EndCursor);

public sealed class PageInfoType : ObjectGraphType<PageInfoView>
{
    public PageInfoType()
    {
        Name = "PageInfo";
        Description = "Where a page of a connection ends, for paging forward.";
        Field<NonNullGraphType<BooleanGraphType>>("hasNextPage").Description("Whether there are more items after this page.").Resolve(c => c.Source.HasNextPage);
        Field<StringGraphType>("endCursor").Description("Pass as `after` to get the next page; null when the page is empty.").Resolve(c => c.Source.EndCursor);
    }
}
