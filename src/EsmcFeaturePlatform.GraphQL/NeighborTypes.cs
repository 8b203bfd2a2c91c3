using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
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
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<NonNullGraphType<FloatGraphType>>("cosine").Description("Cosine between the two features' SAE decoder rows, in [-1, 1].")
            .Resolve(c => FloatOutput.ToDouble(c.Source.Cosine));
        Field<NonNullGraphType<FeatureType>>("feature").Resolve(c => new FeatureView(c.Source.SaeId, c.Source.Index));
    }
}

/// <summary>Neighbour lists are loaded per (feature, first): every feature of a page asking for the same count is one grain call.</summary>
public sealed record NeighborRequest(FeatureKey Feature, int First);

internal static class NeighborLoading
{
    public static async Task<IReadOnlyDictionary<NeighborRequest, FeatureNeighborView[]>> FetchAsync(FeaturePlatformQueries queries, IReadOnlyList<NeighborRequest> requests)
    {
        var result = new Dictionary<NeighborRequest, FeatureNeighborView[]>();
        foreach (var group in requests.GroupBy(r => (r.Feature.SaeId, r.First)))
        {
            var batch = group.ToArray();
            var outcome = await queries.Grains.GetGrain<IDecoderNeighborsGrain>(0)
                .NearestAsync(group.Key.SaeId, [.. batch.Select(r => r.Feature.Index)], group.Key.First);
            if (outcome.Failure != NeighborFailure.None)
                throw outcome.Failure == NeighborFailure.Overloaded
                    ? new PlatformError(ErrorCodes.Overloaded, outcome.Message ?? "The inference worker is busy; retry later.")
                    : PlatformError.BadInput(outcome.Message ?? "Bad nearestFeatures request.");
            for (var i = 0; i < batch.Length; i++)
                result[batch[i]] = [.. outcome.Neighbors[i].Select(n => new FeatureNeighborView(group.Key.SaeId, n.Index, n.Cosine))];
        }
        return result;
    }
}
