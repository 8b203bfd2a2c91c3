using EsmcFeaturePlatform.Abstractions;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.analyzeSequence: the features of one protein sequence.</summary>
internal static class AnalysisQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<SequenceAnalysisType>>("analyzeSequence")
            .Description("Encodes one protein sequence with the SAE's base model and returns the SAE features active at each residue and pooled over the "
                + "sequence (max per feature). Results are cached per SAE and sequence. Refused with SCREENED when the biosecurity screening blocks the sequence.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<StringGraphType>>("sequence", "The protein sequence in one-letter amino-acid code (at most Esmc:Inference:MaxTokens residues).")
            .Argument<NonNullGraphType<BooleanGraphType>>("normalize", a =>
            {
                a.DefaultValue = false;
                a.Description = "false: raw SAE activations (unitless, 0 or more). true: each value divided by the feature's max activation and multiplied "
                    + "by its idf, with the statistics in effect for the SAE (BAD_USER_INPUT when it has none; see normalization in the answer).";
            })
            .Argument<NonNullGraphType<BooleanGraphType>>("strict", a =>
            {
                a.DefaultValue = true;
                a.Description = "true: letters are upper-cased, white space and one trailing '*' removed, anything outside the ESMC vocabulary refused (BAD_USER_INPUT naming the character and its position). "
                    + "false: the reference tokenizer's behaviour (case sensitive, unknown characters become <unk>, counted in unknownTokens).";
            })
            .ResolveAsync(async c =>
            {
                await c.ScreenSequenceAsync(c.GetArgument<string>("sequence"), ScreeningEntryPoints.AnalyzeSequence);
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                return await queries.AnalyzeSequenceAsync(sae, c.GetArgument<string>("sequence"), c.GetArgument<bool>("strict"), c.GetArgument<bool>("normalize"), c.CancellationToken);
            });
    }
}
