using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>One decoder neighbour of a feature, as the API shows it.</summary>
public sealed record FeatureNeighborView(string SaeId, int Index, float Cosine);

public sealed class FeatureNeighborType : ObjectGraphType<FeatureNeighborView>
{
    public FeatureNeighborType()
    {
        Name = "FeatureNeighbor";
        Description = "Another feature of the same SAE whose decoder direction is close to this one's.";
        Field<NonNullGraphType<IntGraphType>>("index").Description("The neighbour's feature index in the same SAE.").Resolve(c => c.Source.Index);
        Field<NonNullGraphType<FloatGraphType>>("cosine").Description("Cosine between the two features' SAE decoder rows, in [-1, 1].")
            .Resolve(c => FloatOutput.ToDouble(c.Source.Cosine));
        Field<NonNullGraphType<FeatureType>>("feature").Description("The neighbour feature itself.").Resolve(c => new FeatureView(c.Source.SaeId, c.Source.Index));
    }
}
