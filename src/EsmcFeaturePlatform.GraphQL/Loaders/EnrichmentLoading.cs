using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

internal static class EnrichmentLoading
{
    /// <summary>
    /// The rows of a batch of features (<see cref="IFeatureReader.EnrichmentAsync"/>: one call per feature page, one
    /// protein lookup per corpus shard), corrected over the SAE's whole family of tests (features x concepts) by the
    /// SAE's <see cref="IEnrichmentFamilyGrain"/>: one more call per batch. The whole ranked list is kept per feature;
    /// <c>first</c> only cuts it.
    /// </summary>
    public static async Task<IReadOnlyDictionary<FeatureKey, ConceptEnrichment[]>> FetchAsync(FeaturePlatformQueries queries, IReadOnlyList<FeatureKey> keys)
    {
        var result = new Dictionary<FeatureKey, ConceptEnrichment[]>();
        var examples = queries.Options.EnrichmentExamples;
        foreach (var group in keys.GroupBy(k => k.SaeId))
        {
            var batch = group.ToArray();
            var sae = await queries.RequireSaeAsync(group.Key);
            var rows = await queries.Reader.EnrichmentAsync(group.Key, [.. batch.Select(k => k.Index)], examples);
            var pValues = rows.SelectMany(r => r).Select(r => r.PValue).ToArray();
            var adjusted = pValues.Length == 0 ? []
                : await queries.Grains.GetGrain<IEnrichmentFamilyGrain>(group.Key).AdjustAsync(sae.CodebookSize, examples, pValues);
            var at = 0;
            for (var i = 0; i < batch.Length; i++)
                result[batch[i]] = [.. AnnotationEnrichment.Rank(rows[i].Select(r => r with { AdjustedPValue = adjusted[at++] }))];
        }
        return result;
    }
}
