using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record HistogramBinView(double From, double To, int Count);

public sealed class HistogramBinType : ObjectGraphType<HistogramBinView>
{
    public HistogramBinType()
    {
        Name = "HistogramBin";
        Description = "One bin of an activation histogram (raw activation units).";
        Field<NonNullGraphType<FloatGraphType>>("from").Description("Lower edge (inclusive).").Resolve(c => c.Source.From);
        Field<NonNullGraphType<FloatGraphType>>("to").Description("Upper edge (exclusive; the last bin includes the max).").Resolve(c => c.Source.To);
        Field<NonNullGraphType<IntGraphType>>("count").Description("Sampled proteins whose peak activation falls in the bin.").Resolve(c => c.Source.Count);
    }
}
