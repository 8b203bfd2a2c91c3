using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// The request's batch loaders: a page of features (e.g. every FeatureActivation.feature of an analysis)
/// gets its statistics in one call per SAE and its descriptions in one round of parallel grain calls.
/// </summary>
public sealed class FeatureLoaders(FeaturePlatformQueries queries)
{
    public BatchLoader<FeatureKey, FeatureStats> Stats { get; } = new(async (keys, _) =>
    {
        var result = new Dictionary<FeatureKey, FeatureStats>();
        foreach (var group in keys.GroupBy(k => k.SaeId))
        {
            var stats = await queries.GetCorpusStatisticsAsync(group.Key, [.. group.Select(k => k.Index).Distinct()]);
            foreach (var s in stats.Features) result[new FeatureKey(group.Key, s.Index)] = s;
        }
        return result;
    });

    public BatchLoader<FeatureKey, DescriptionVersion[]> Descriptions { get; } = new(async (keys, _) =>
    {
        var histories = await Task.WhenAll(keys.Select(k => queries.Grains.GetGrain<IFeatureGrain>(k.ToString()).GetDescriptionsAsync()));
        return keys.Zip(histories).ToDictionary(p => p.First, p => p.Second);
    });

    public BatchLoader<NeighborRequest, FeatureNeighborView[]> Neighbors { get; } = new((requests, _) => NeighborLoading.FetchAsync(queries, requests));

    public BatchLoader<FeatureKey, Abstractions.Evidence.ConceptEnrichment[]> Enrichment { get; } = new((keys, _) => EnrichmentLoading.FetchAsync(queries, keys));
}
