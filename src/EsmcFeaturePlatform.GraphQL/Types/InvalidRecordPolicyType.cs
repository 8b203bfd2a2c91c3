using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class InvalidRecordPolicyType : EnumerationGraphType
{
    public InvalidRecordPolicyType()
    {
        Name = "InvalidRecordPolicy";
        Description = "What indexCorpus does with a record it cannot index (malformed, refused by the sequence rule, too long).";
        Add("SKIP", InvalidRecordPolicy.Skip, "Skip the record and report it in the job (the default).");
        Add("FAIL", InvalidRecordPolicy.Fail, "Fail the job at the first record that cannot be indexed, naming it.");
    }
}
