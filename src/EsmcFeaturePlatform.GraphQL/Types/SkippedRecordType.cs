using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class SkippedRecordType : ObjectGraphType<SkippedRecord>
{
    public SkippedRecordType()
    {
        Name = "SkippedRecord";
        Description = "A record an indexing job did not index, and why.";
        Field<NonNullGraphType<IntGraphType>>("recordNumber").Description("1-based position of the record in the file.").Resolve(c => c.Source.RecordNumber);
        Field<StringGraphType>("sequenceId").Description("The record's id, when it has one; null for a record too malformed to have one.").Resolve(c => c.Source.SequenceId);
        Field<NonNullGraphType<StringGraphType>>("reason").Description("INVALID_RECORD, INVALID_SEQUENCE, TOO_LONG, ... (new reasons may be added).").Resolve(c => c.Source.Reason);
        Field<NonNullGraphType<StringGraphType>>("message").Description("What was wrong, in words (never the content of a screened record).").Resolve(c => c.Source.Message);
    }
}
