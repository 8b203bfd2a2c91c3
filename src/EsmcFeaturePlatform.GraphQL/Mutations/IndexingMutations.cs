using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Mutation.indexCorpus: indexing a corpus of proteins into an SAE.</summary>
internal static class IndexingMutations
{
    public static void Add(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<JobType>>("indexCorpus")
            .Description("admin. Indexes a FASTA or UniProt file (plain or gzip) on the server's disk into the SAE's corpus; idempotent by sequence id.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id) to index into.")
            .Argument<NonNullGraphType<StringGraphType>>("fastaPath", "The file's path on the server, under one of the corpus roots (Esmc:Corpus:Roots): a FASTA or UniProt file, plain or gzip.")
            .Argument<NonNullGraphType<IntGraphType>>("topExamples", a =>
            {
                a.DefaultValue = 20;
                a.Description = "Top examples (proteins with the highest activation) kept per feature, 1 to Esmc:Api:MaxPageSize.";
            })
            .Argument<NonNullGraphType<InvalidRecordPolicyType>>("onInvalidRecord", a =>
            {
                a.DefaultValue = InvalidRecordPolicy.Skip;
                a.Description = "SKIP: a record that cannot be indexed (malformed, refused by the sequence rule, too long) is skipped and reported in the job; FAIL: the job fails at the first one, naming it.";
            })
            .Argument<NonNullGraphType<OverLongPolicyType>>("onOverLong", a =>
            {
                a.DefaultValue = OverLongPolicy.Skip;
                a.Description = "Proteins over Esmc:Inference:MaxTokens: SKIP (reported) or WINDOW (overlapping windows merged per residue; a departure from the reference).";
            })
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Admin, "indexCorpus");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                return await queries.StartIndexingAsync(sae, c.GetArgument<string>("fastaPath"), c.GetArgument<int>("topExamples"), user.Caller, queries.Options.MaxPageSize,
                    c.GetArgument<InvalidRecordPolicy>("onInvalidRecord"), c.GetArgument<OverLongPolicy>("onOverLong"));
            });
    }
}
