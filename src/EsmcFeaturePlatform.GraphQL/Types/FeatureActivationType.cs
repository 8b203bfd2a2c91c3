using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>What a FeatureActivation resolves from: value already raw or normalized, position only when pooled.</summary>
public sealed record ActivationView(string SaeId, int Index, float Value, int? Position);

public sealed class FeatureActivationType : ObjectGraphType<ActivationView>
{
    public FeatureActivationType()
    {
        Name = "FeatureActivation";
        Description = "One feature active at a residue (or pooled over the sequence), with its value.";
        Field<NonNullGraphType<IntGraphType>>("index").Description("The feature index in the SAE, 0 to Sae.codebookSize - 1.").Resolve(c => c.Source.Index);
        Field<NonNullGraphType<FloatGraphType>>("value").Description("The activation: raw SAE activation (unitless, above 0) or, with normalize: true, value / max activation x idf of the feature.").Resolve(c => FloatOutput.ToDouble(c.Source.Value));
        Field<IntGraphType>("position").Description("For pooled activations: the first residue (1-based) where the feature reaches this value; null for per-residue activations.").Resolve(c => c.Source.Position);
        Field<FeatureType>("feature").Description("The feature itself (statistics, description, examples).").Resolve(c => new FeatureView(c.Source.SaeId, c.Source.Index));
    }
}
