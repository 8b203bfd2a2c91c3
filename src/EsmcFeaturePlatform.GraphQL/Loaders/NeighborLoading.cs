using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

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
