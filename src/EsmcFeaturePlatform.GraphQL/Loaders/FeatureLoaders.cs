using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// The request's batch loaders over the feature-reading service: a page of features (e.g. every
/// FeatureActivation.feature of an analysis) gets its statistics in one call per SAE and its current descriptions in
/// one call per feature page, without activating a grain per feature.
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

    public BatchLoader<FeatureKey, DescriptionVersion> CurrentDescriptions { get; } = new(async (keys, _) =>
        (await queries.Reader.CurrentDescriptionsAsync(keys)).Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!));

    public BatchLoader<FeatureKey, DescriptionVersion[]> Histories { get; } = new(async (keys, _) => await queries.Reader.HistoriesAsync(keys));

    public BatchLoader<NeighborRequest, FeatureNeighborView[]> Neighbors { get; } = new((requests, _) => NeighborLoading.FetchAsync(queries, requests));

    public BatchLoader<FeatureKey, Abstractions.Evidence.ConceptEnrichment[]> Enrichment { get; } = new((keys, _) => EnrichmentLoading.FetchAsync(queries, keys));
}
