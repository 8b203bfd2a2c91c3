using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class SkippedRecordPageType : ObjectGraphType<SkippedRecordPage>
{
    public SkippedRecordPageType()
    {
        Name = "SkippedRecordPage";
        Description = "A page of the records an indexing job skipped.";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Description("All records the job skipped (not only this page).").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SkippedRecordType>>>>("records").Description("This page's records, in file order.").Resolve(c => c.Source.Records);
    }
}
