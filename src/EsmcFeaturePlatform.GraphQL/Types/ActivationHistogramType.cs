using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Feature.activationHistogram: per-protein peak activations of the stored uniform sample, binned from 0 to the max.</summary>
public sealed record ActivationHistogramView(int SampleSize, int DocumentCount, double Max, HistogramBinView[] Bins)
{
    public static ActivationHistogramView Of(FeatureStatistics statistics, int bins)
    {
        var peaks = statistics.Samples.Select(s => (double)s.MaxValue).Where(v => v > 0).ToArray();
        var max = Math.Max(statistics.MaxActivation ?? 0, peaks.Length == 0 ? 0 : peaks.Max());
        var counts = new int[bins];
        var width = max > 0 ? max / bins : 0;
        foreach (var v in peaks) counts[width > 0 ? Math.Min(bins - 1, (int)(v / width)) : 0]++;
        return new ActivationHistogramView(peaks.Length, statistics.DocumentCount, max,
            [.. Enumerable.Range(0, bins).Select(i => new HistogramBinView(i * width, i == bins - 1 ? max : (i + 1) * width, counts[i]))]);
    }
}

public sealed class ActivationHistogramType : ObjectGraphType<ActivationHistogramView>
{
    public ActivationHistogramType()
    {
        Name = "ActivationHistogram";
        Description = "How strongly a feature fires in the proteins it fires in, as a histogram of per-protein peak activations.";
        Field<NonNullGraphType<IntGraphType>>("sampleSize").Description("Proteins in the sample the histogram counts.").Resolve(c => c.Source.SampleSize);
        Field<NonNullGraphType<IntGraphType>>("documentCount").Description("All indexed proteins the feature fires in (the sample is drawn from these).")
            .Resolve(c => c.Source.DocumentCount);
        Field<NonNullGraphType<FloatGraphType>>("max").Description("The feature's max activation: the upper edge of the last bin.").Resolve(c => c.Source.Max);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<HistogramBinType>>>>("bins").Description("The bins, from 0 up to max, in order.").Resolve(c => c.Source.Bins);
    }
}
