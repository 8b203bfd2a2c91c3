using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// One UniProt concept (a feature type, or a type with its note such as "DOMAIN: Ig-like") and its overlap with the
/// active residues of a feature's top examples: the residue-level rows of the description agent's annotation
/// enrichment (<see cref="AnnotationEnrichment.Compute"/>), the same numbers the agent reads.
/// </summary>
public sealed class AnnotationEnrichmentType : ObjectGraphType<ConceptEnrichment>
{
    public AnnotationEnrichmentType()
    {
        Name = "AnnotationEnrichment";
        Description = "A UniProt feature type or named domain/region/site whose residues overlap the feature's active residues "
            + "in its top examples (active: above 0.3 x the example's own peak). Counts are residues.";
        Field<NonNullGraphType<StringGraphType>>("term").Description("The concept: a feature-table type (e.g. TRANSMEM), or a type with its cleaned note (e.g. \"DOMAIN: Ig-like\").")
            .Resolve(c => c.Source.Concept);
        Field<NonNullGraphType<StringGraphType>>("type").Description("The UniProt feature-table type of the term (e.g. DOMAIN).")
            .Resolve(c => TypeOf(c.Source.Concept));
        Field<NonNullGraphType<IntGraphType>>("truePositives").Description("Active residues inside the term's annotations.").Resolve(c => c.Source.TruePositives);
        Field<NonNullGraphType<IntGraphType>>("falsePositives").Description("Active residues outside them.").Resolve(c => c.Source.FalsePositives);
        Field<NonNullGraphType<IntGraphType>>("falseNegatives").Description("Annotated residues that are not active.").Resolve(c => c.Source.FalseNegatives);
        Field<NonNullGraphType<FloatGraphType>>("precision").Description("Share of active residues inside the term.").Resolve(c => c.Source.Precision);
        Field<NonNullGraphType<FloatGraphType>>("recall").Description("Share of the term's residues that are active.").Resolve(c => c.Source.Recall);
        Field<NonNullGraphType<FloatGraphType>>("f1").Description("Harmonic mean of precision and recall (InterPLM's concept F1).").Resolve(c => c.Source.F1);
        Field<NonNullGraphType<FloatGraphType>>("foldEnrichment").Description("Precision over the term's share of all residues of the examples.")
            .Resolve(c => c.Source.FoldEnrichment);
        Field<NonNullGraphType<FloatGraphType>>("pValue").Description("Exact p-value of an overlap at least this large by chance, the larger of two nulls: "
                + "each example's active residues rotated by a random offset within their own protein (proteins, not residues, are the independent "
                + "units), and the active residues shuffled among residues of the same amino acid (what residue identity alone explains).")
            .Resolve(c => c.Source.PValue);
        Field<NonNullGraphType<FloatGraphType>>("adjustedPValue").Description("pValue after Benjamini-Hochberg over every test of the SAE (every feature x term "
                + "over the features' top examples): the false discovery rate at which this row would be called significant.")
            .Resolve(c => c.Source.AdjustedPValue);
        Field<NonNullGraphType<BooleanGraphType>>("significant").Description("adjustedPValue < 0.05 and foldEnrichment > 1: survives the correction over the whole family.")
            .Resolve(c => c.Source.Significant);
    }

    /// <summary>"DOMAIN: Ig-like" is of type DOMAIN; a bare type is its own type.</summary>
    public static string TypeOf(string concept)
    {
        var colon = concept.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? concept : concept[..colon];
    }
}
