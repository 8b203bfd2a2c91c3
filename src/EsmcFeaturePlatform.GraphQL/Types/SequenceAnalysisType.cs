using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record SequenceAnalysisView(
    string SaeId, int Length, ActivationView[][] Residues, ActivationView[] Pooled,
    string Sequence, int UnknownTokens, IReadOnlyList<string> Warnings, NormalizationInEffect? Normalization);

public sealed class SequenceAnalysisType : ObjectGraphType<SequenceAnalysisView>
{
    public SequenceAnalysisType()
    {
        Name = "SequenceAnalysis";
        Description = "The SAE features of one protein sequence, per residue and pooled.";
        Field<NonNullGraphType<IdGraphType>>("sae").Description("The SAE id (Sae.id) that encoded the sequence.").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<IntGraphType>>("length").Description("Residues analyzed (special tokens excluded): the number of rows of residues.").Resolve(c => c.Source.Length);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureActivationType>>>>>>("residues").Description("Per residue (1 to length, in order), the active features, highest value first (ties by index).")
            .Resolve(c => c.Source.Residues);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureActivationType>>>>("pooled").Description("Per feature active anywhere, its maximum over the residues and where it is reached, highest value first (ties by index).").Resolve(c => c.Source.Pooled);
        Field<NonNullGraphType<StringGraphType>>("sequence")
            .Description("The residues analyzed, after the input rule (upper-cased, white space and one trailing '*' removed); with strict: false the text as sent.")
            .Resolve(c => c.Source.Sequence);
        Field<NonNullGraphType<IntGraphType>>("unknownTokens")
            .Description("Characters encoded as <unk> (only with strict: false; strict input never has any).")
            .Resolve(c => c.Source.UnknownTokens);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("warnings")
            .Description("What the input rule noticed without refusing the input (e.g. it looks like a nucleotide sequence; <unk> tokens were used).")
            .Resolve(c => c.Source.Warnings);
        Field<NormalizationUsedType>("normalization")
            .Description("With normalize: true, the statistics used: their source and the corpus size they were computed over; null for raw values.")
            .Resolve(c => c.Source.Normalization);
        Field<StringGraphType>("notice").Description("Sae.notice of the SAE analyzed: set when its base model is the random demo model.")
            .ResolveAsync(async c => (await c.Queries().RequireSaeAsync(c.Source.SaeId)).Notice);
    }
}
