using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// <see cref="IFeatureReader"/> over the cluster: statistics, examples and headlines (current description, imported
/// words) come from the feature pages, one call per page of 256 features; max activation, document count and corpus
/// size from the SAE's statistics grain; proteins from the corpus shards, one call per shard. A feature grain is
/// activated only for what only it holds (whole histories, examples with sequences) or for a described feature whose
/// page has no headline yet (a grain written before pages kept headlines; activating it writes one).
/// </summary>
public sealed class FeatureReader(IGrainFactory grains) : IFeatureReader
{
    /// <summary>Top examples whose annotations are looked at for <see cref="FeatureDocument.AnnotationTerms"/>.</summary>
    public const int AnnotationExamples = 10;

    /// <summary>Features read per step when enumerating a whole SAE: one feature page.</summary>
    public const int EnumerationPageSize = FeaturePages.Size;

    private SaeCatalog? _catalog;

    public async Task<SaeCatalog> GetCatalogAsync()
    {
        // The model root is fixed for a process's life; an empty catalog is not kept in case silos were still starting.
        if (_catalog is { Saes.Length: > 0 } known) return known;
        return _catalog = await grains.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
    }

    public Task<CorpusStatistics> GetCorpusStatisticsAsync(string saeId, IReadOnlyList<int> indices) =>
        grains.GetGrain<INormalizationStatsGrain>(saeId).GetCorpusStatisticsAsync([.. indices]);

    public async Task<IReadOnlyList<FeatureRow>> ReadAsync(string saeId, IReadOnlyList<int> indices, int topExampleIds, bool withAnnotationTerms)
    {
        if (indices.Count == 0) return [];
        var corpusSize = (await GetCorpusStatisticsAsync(saeId, [])).CorpusSize;
        var snapshots = await SnapshotsAsync(saeId, indices, Math.Max(topExampleIds, withAnnotationTerms ? AnnotationExamples : 0));
        Dictionary<string, IndexedProtein> proteins = withAnnotationTerms
            ? await ProteinsAsync(saeId, snapshots.SelectMany(s => s.TopExampleIds.Take(AnnotationExamples)))
            : [];
        return [.. snapshots.Select(s => new FeatureRow(new FeatureKey(saeId, s.Index),
            s with { TopExampleIds = [.. s.TopExampleIds.Take(topExampleIds)], TopExampleValues = [.. s.TopExampleValues.Take(topExampleIds)] },
            corpusSize,
            withAnnotationTerms ? AnnotationTermsOf(s, proteins) : []))];
    }

    public async IAsyncEnumerable<FeatureRow> EnumerateAsync(SaeDescriptor sae, int topExampleIds, bool withAnnotationTerms,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var start = 0; start < sae.CodebookSize; start += EnumerationPageSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = Enumerable.Range(start, Math.Min(EnumerationPageSize, sae.CodebookSize - start)).ToArray();
            foreach (var row in await ReadAsync(sae.Id, page, topExampleIds, withAnnotationTerms)) yield return row;
        }
    }

    public async Task<IReadOnlyList<FeatureDocument>> DocumentsAsync(IEnumerable<FeatureKey> keys)
    {
        var documents = new List<FeatureDocument>();
        foreach (var group in keys.GroupBy(k => k.SaeId))
        {
            var rows = await ReadAsync(group.Key, [.. group.Select(k => k.Index).Distinct()], 0, withAnnotationTerms: true);
            documents.AddRange(rows.Where(r => r.Snapshot.HasContent).Select(r => r.ToDocument()));
        }
        return documents;
    }

    public async Task<IReadOnlyDictionary<FeatureKey, DescriptionVersion?>> CurrentDescriptionsAsync(IReadOnlyList<FeatureKey> keys)
    {
        var result = new Dictionary<FeatureKey, DescriptionVersion?>();
        foreach (var group in keys.GroupBy(k => k.SaeId))
        {
            var indices = group.Select(k => k.Index).Distinct().ToArray();
            var snapshots = await SnapshotsAsync(group.Key, indices, 0);
            foreach (var s in snapshots) result[new FeatureKey(group.Key, s.Index)] = s.Current;
        }
        return result;
    }

    public async Task<IReadOnlyDictionary<FeatureKey, DescriptionVersion[]>> HistoriesAsync(IReadOnlyList<FeatureKey> keys)
    {
        var result = new Dictionary<FeatureKey, DescriptionVersion[]>();
        foreach (var group in keys.GroupBy(k => k.SaeId))
        {
            var indices = group.Select(k => k.Index).Distinct().ToArray();
            var pages = await PagesAsync(group.Key, indices, 0);
            await Task.WhenAll(indices.Select(async (index, at) =>
            {
                var key = new FeatureKey(group.Key, index);
                // A headline says how many versions there are; without one, only a feature marked described may have any.
                var mayHaveVersions = pages.Headlines[at] is { } headline ? headline.VersionCount > 0 : pages.Described.Contains(index);
                var history = mayHaveVersions ? await grains.GetGrain<IFeatureGrain>(key.ToString()).GetDescriptionsAsync() : [];
                lock (result) result[key] = history;
            }));
        }
        return result;
    }

    public Task<ActivationExample[]> TopExamplesAsync(FeatureKey key, int first) =>
        grains.GetGrain<IFeatureGrain>(key.ToString()).GetTopExamplesAsync(first);

    public Task<ActivationExample[]> QuantileSamplesAsync(FeatureKey key, int count) =>
        grains.GetGrain<IFeatureGrain>(key.ToString()).GetQuantileSamplesAsync(count);

    public Task<FeatureStatistics> SampleAsync(FeatureKey key) =>
        grains.GetGrain<IFeaturePageGrain>(FeaturePages.KeyOf(key)).GetAsync(key.Index, 0, withSamples: true);

    public Task<ImportedFeatureData?> ImportedAsync(FeatureKey key) =>
        grains.GetGrain<IFeatureGrain>(key.ToString()).GetImportedAsync();

    public async Task<IReadOnlyList<ConceptEnrichment>[]> EnrichmentAsync(string saeId, IReadOnlyList<int> indices, int examples)
    {
        var stored = (await PagesAsync(saeId, indices, examples)).Statistics.Select(s => s.TopExamples).ToArray();
        var proteins = await ProteinsAsync(saeId, stored.SelectMany(s => s).Select(e => e.SequenceId));
        var result = new IReadOnlyList<ConceptEnrichment>[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var activating = stored[i]
                .Where(e => proteins.ContainsKey(e.SequenceId))
                .Select(e => AnnotationEnrichment.Annotate(e.ToExample(proteins[e.SequenceId].Sequence), proteins[e.SequenceId]))
                .ToList();
            // Only residue-level rows: protein-level (keyword) enrichment needs non-activating proteins, which only
            // the describe job has (it encodes a corpus sample); with none, every keyword would score p = 1.
            result[i] = activating.Any(a => a.Annotations.Count > 0)
                ? AnnotationEnrichment.Compute(activating, [], AnnotationEnrichment.DefaultActiveThreshold).Residue
                : [];
        }
        return result;
    }

    private sealed record PageReads(FeatureStatistics[] Statistics, FeatureHeadline?[] Headlines, HashSet<int> Described);

    /// <summary>
    /// Statistics (no samples) and headlines of many features of one SAE in the order given, and which of them may be
    /// described: marked in their page, or in the SAE's curation index (which also covers features described before
    /// pages kept marks). One call per page and one to the curation index; no feature grain.
    /// </summary>
    private async Task<PageReads> PagesAsync(string saeId, IReadOnlyList<int> indices, int topExamples)
    {
        var statistics = new FeatureStatistics[indices.Count];
        var headlines = new FeatureHeadline?[indices.Count];
        if (indices.Count == 0) return new PageReads(statistics, headlines, []);
        var curated = grains.GetGrain<ICurationIndexGrain>(saeId).DescribedAsync(indices.Min(), indices.Max() + 1);
        var pages = await Task.WhenAll(Enumerable.Range(0, indices.Count).GroupBy(at => FeaturePages.PageOf(indices[at])).Select(async g =>
        {
            var positions = g.ToArray();
            var page = await grains.GetGrain<IFeaturePageGrain>(FeaturePages.Key(saeId, g.Key)).GetPageAsync([.. positions.Select(at => indices[at])], topExamples);
            return (Positions: positions, Page: page);
        }));
        var described = new HashSet<int>(await curated);
        foreach (var (positions, page) in pages)
        {
            described.UnionWith(page.Described);
            for (var k = 0; k < positions.Length; k++)
            {
                statistics[positions[k]] = page.Statistics[k];
                headlines[positions[k]] = k < page.Headlines.Length ? page.Headlines[k] : null;
            }
        }
        return new PageReads(statistics, headlines, described);
    }

    /// <summary>
    /// Snapshots in the order given, from the pages; a feature grain is asked only for a described feature whose page
    /// has no headline yet. A first export of an SAE reads one blob per 256 features instead of one per feature.
    /// </summary>
    private async Task<FeatureSnapshot[]> SnapshotsAsync(string saeId, IReadOnlyList<int> indices, int topExamples)
    {
        var pages = await PagesAsync(saeId, indices, topExamples);
        var snapshots = indices.Select((index, at) => FeatureSnapshot.From(index, pages.Statistics[at], pages.Headlines[at])).ToArray();
        await Task.WhenAll(Enumerable.Range(0, indices.Count).Where(at => pages.Headlines[at] is null && pages.Described.Contains(indices[at])).Select(async at =>
            snapshots[at] = await grains.GetGrain<IFeatureGrain>(new FeatureKey(saeId, indices[at]).ToString()).GetSnapshotAsync(topExamples)));
        return snapshots;
    }

    private async Task<Dictionary<string, IndexedProtein>> ProteinsAsync(string saeId, IEnumerable<string> sequenceIds)
    {
        var ids = sequenceIds.Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0) return new(StringComparer.Ordinal);
        var found = await Task.WhenAll(ids.GroupBy(CorpusSharding.ShardOf).Select(g =>
            grains.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, g.Key)).GetAsync([.. g])));
        return found.SelectMany(f => f).ToDictionary(p => p.Id, StringComparer.Ordinal);
    }

    /// <summary>Terms shared by the top examples, then the terms imported from a published dataset (category, pattern, families).</summary>
    private static IReadOnlyList<string> AnnotationTermsOf(FeatureSnapshot s, Dictionary<string, IndexedProtein> proteins)
    {
        var shared = SharedTerms(s.TopExampleIds.Take(AnnotationExamples).Select(id => proteins.GetValueOrDefault(id)).OfType<IndexedProtein>().ToList());
        return s.ImportedTerms.Length == 0 ? shared : [.. shared.Concat(s.ImportedTerms).Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// UniProt keywords and feature types (with their notes) shared by at least half of the top examples (and by two
    /// or more): cheap enrichment that lets "zinc finger" find a feature that fires in zinc-finger proteins even
    /// before anyone described it.
    /// </summary>
    public static IReadOnlyList<string> SharedTerms(IReadOnlyList<IndexedProtein> examples)
    {
        if (examples.Count < 2) return [];
        var counts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var protein in examples)
        {
            var terms = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var k in protein.Keywords) if (!string.IsNullOrWhiteSpace(k)) terms.Add(k.Trim());
            foreach (var a in protein.Annotations)
            {
                terms.Add(a.Type);
                if (!string.IsNullOrWhiteSpace(a.Note)) terms.Add(a.Note.Trim());
            }
            foreach (var t in terms) counts[t] = counts.GetValueOrDefault(t) + 1;
        }
        var needed = Math.Max(2, (examples.Count + 1) / 2);
        return [.. counts.Where(c => c.Value >= needed).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(32).Select(c => c.Key)];
    }
}
