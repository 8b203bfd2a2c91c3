using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class ActivationExampleType : ObjectGraphType<ActivationExample>
{
    public ActivationExampleType()
    {
        Name = "ActivationExample";
        Description = "A protein of the indexed corpus in which the feature is active, with its activation at every residue.";
        Field<NonNullGraphType<StringGraphType>>("sequenceId").Description("The protein's id in the indexed file (FASTA id or UniProt accession).").Resolve(c => c.Source.SequenceId);
        Field<NonNullGraphType<FloatGraphType>>("maxValue").Description("The feature's highest raw activation in this protein (unitless, above 0).").Resolve(c => FloatOutput.ToDouble(c.Source.MaxValue));
        Field<NonNullGraphType<IntGraphType>>("position").Description("The first residue (1-based) where maxValue is reached.").Resolve(c => c.Source.Position);
        Field<NonNullGraphType<StringGraphType>>("sequence").Description("The protein sequence (one-letter amino-acid code).").Resolve(c => c.Source.Sequence);
        Field<StringGraphType>("proteinName").Description("The protein's name from its corpus record (UniProt's recommended name, or the FASTA header's description); null when it has none.")
            .Resolve(c => c.Source.ProteinName);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FloatGraphType>>>>("activations").Description("The raw activation at each residue, one value per residue of sequence (0 where inactive).")
            .Resolve(c => c.Source.Activations.Select(FloatOutput.ToDouble).ToArray());
    }
}
