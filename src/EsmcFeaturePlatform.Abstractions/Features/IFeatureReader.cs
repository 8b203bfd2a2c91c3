using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The one way to read features (the port; the grains project implements it over the cluster). The GraphQL data
/// loaders, the REST routes, exports, the search sync and rebuildSearchIndex all read through here, so they agree on
/// what a feature is and read it the same cheap way: a page of features costs one call per feature page and one per
/// SAE, never one grain activation per feature.
/// </summary>
public interface IFeatureReader
{
    /// <summary>The SAEs the silos serve (cached once non-empty: the model root is fixed for a process's life).</summary>
    Task<SaeCatalog> GetCatalogAsync();

    /// <summary>Max activation and document count of the given features over the indexed corpus, with its size.</summary>
    Task<CorpusStatistics> GetCorpusStatisticsAsync(string saeId, IReadOnlyList<int> indices);

    /// <summary>Rows (statistics, current description, top example ids, annotation terms when asked) of the given features of one SAE, in the order given.</summary>
    Task<IReadOnlyList<FeatureRow>> ReadAsync(string saeId, IReadOnlyList<int> indices, int topExampleIds, bool withAnnotationTerms);

    /// <summary>Every feature of an SAE, a page at a time (memory bounded by one page), for rebuilds and exports.</summary>
    IAsyncEnumerable<FeatureRow> EnumerateAsync(SaeDescriptor sae, int topExampleIds, bool withAnnotationTerms, CancellationToken cancellationToken = default);

    /// <summary>Search documents of the keys that have something worth indexing (<see cref="FeatureSnapshot.HasContent"/>).</summary>
    Task<IReadOnlyList<FeatureDocument>> DocumentsAsync(IEnumerable<FeatureKey> keys);

    /// <summary>The current description (<see cref="DescriptionHistory.Current"/>) of each key, null where there is none.</summary>
    Task<IReadOnlyDictionary<FeatureKey, DescriptionVersion?>> CurrentDescriptionsAsync(IReadOnlyList<FeatureKey> keys);

    /// <summary>The whole history of each key, oldest first; only features that have one activate their grain.</summary>
    Task<IReadOnlyDictionary<FeatureKey, DescriptionVersion[]>> HistoriesAsync(IReadOnlyList<FeatureKey> keys);

    /// <summary>The feature's top examples with their sequences, contracts order.</summary>
    Task<ActivationExample[]> TopExamplesAsync(FeatureKey key, int first);

    /// <summary>Examples spread over the feature's activation range, highest first.</summary>
    Task<ActivationExample[]> QuantileSamplesAsync(FeatureKey key, int count);

    /// <summary>The feature's statistics with its uniform sample of activating proteins (no top examples).</summary>
    Task<FeatureStatistics> SampleAsync(FeatureKey key);

    /// <summary>What a published feature dataset says about the feature, or null.</summary>
    Task<ImportedFeatureData?> ImportedAsync(FeatureKey key);

    /// <summary>
    /// Per feature (in the order given): its residue-level annotation enrichment rows over its top
    /// <paramref name="examples"/> examples, corrected over its own tests only (the caller corrects over the SAE's
    /// family), or none when no example has annotations (e.g. a FASTA corpus) or it never fired.
    /// </summary>
    Task<IReadOnlyList<ConceptEnrichment>[]> EnrichmentAsync(string saeId, IReadOnlyList<int> indices, int examples);
}

/// <summary>One feature as readers of many features see it: its snapshot, the corpus size, and its annotation terms when asked.</summary>
public sealed record FeatureRow(FeatureKey Key, FeatureSnapshot Snapshot, int CorpusSize, IReadOnlyList<string> AnnotationTerms)
{
    /// <summary>The feature's idf over the SAE's corpus (<see cref="FeatureMath.Idf"/>), null when it never fired.</summary>
    public double? Idf => FeatureMath.Idf(CorpusSize, Snapshot.DocumentCount);

    /// <summary>The feature's search-index document.</summary>
    public FeatureDocument ToDocument() => new(
        Key.SaeId, Key.Index, Snapshot.Current?.Label, Snapshot.Current?.Text, Snapshot.Current?.Status,
        Snapshot.Current?.Source, Snapshot.Current?.Score, Snapshot.MaxActivation, Snapshot.DocumentCount, CorpusSize,
        Idf, AnnotationTerms, DateTimeOffset.UtcNow);

    /// <summary>The feature's bulk-export record.</summary>
    public FeatureExportRecord ToExportRecord() => new(
        Key.SaeId, Key.Index, Snapshot.Current?.Label, Snapshot.Current?.Text, Snapshot.Current?.Status,
        Snapshot.Current?.Source, Snapshot.Current?.Score, Snapshot.MaxActivation, Snapshot.DocumentCount, CorpusSize,
        Idf, Snapshot.TopExampleIds);
}
