namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>
/// Builds the derived views of features (search documents, export rows) from grain state, a page of keys at a
/// time: one statistics call per SAE, one call per feature page, one snapshot call per described feature (in
/// parallel), one protein lookup per corpus shard. Every consumer (the search sync, rebuildSearchIndex, exports, REST) goes through here so they agree.
/// </summary>
public static class FeatureDocumentSource
{
    /// <summary>Top examples whose annotations are looked at for <see cref="FeatureDocument.AnnotationTerms"/>.</summary>
    public const int AnnotationExamples = 10;

    /// <summary>What one feature's search document and export record are made of.</summary>
    /// <param name="Key">The feature.</param>
    /// <param name="Snapshot">Its statistics and current description.</param>
    /// <param name="CorpusSize">Proteins indexed into the SAE (for the idf).</param>
    /// <param name="AnnotationTerms">Annotation terms shared by its top examples.</param>
    public sealed record Row(FeatureKey Key, FeatureSnapshot Snapshot, int CorpusSize, IReadOnlyList<string> AnnotationTerms);

    /// <summary>Snapshots (with corpus size and annotation terms) of keys of one SAE, in the order given.</summary>
    public static async Task<IReadOnlyList<Row>> LoadAsync(IGrainFactory grains, string saeId, IReadOnlyList<int> indices, int topExampleIds, bool withAnnotationTerms)
    {
        if (indices.Count == 0) return [];
        var corpusSize = (await grains.GetGrain<INormalizationStatsGrain>(saeId).GetCorpusStatisticsAsync([])).CorpusSize;
        var snapshots = await SnapshotsAsync(grains, saeId, indices, Math.Max(topExampleIds, withAnnotationTerms ? AnnotationExamples : 0));
        Dictionary<string, IndexedProtein> proteins = new(StringComparer.Ordinal);
        if (withAnnotationTerms)
        {
            var ids = snapshots.SelectMany(s => s.TopExampleIds.Take(AnnotationExamples)).Distinct(StringComparer.Ordinal).ToArray();
            var found = await Task.WhenAll(ids.GroupBy(CorpusSharding.ShardOf).Select(g =>
                grains.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, g.Key)).GetAsync([.. g])));
            foreach (var p in found.SelectMany(f => f)) proteins[p.Id] = p;
        }
        return [.. snapshots.Select(s => new Row(new FeatureKey(saeId, s.Index),
            s with { TopExampleIds = [.. s.TopExampleIds.Take(topExampleIds)], TopExampleValues = [.. s.TopExampleValues.Take(topExampleIds)] },
            corpusSize,
            withAnnotationTerms ? AnnotationTermsOf(s, proteins) : []))];
    }

    /// <summary>Terms shared by the top examples, then the terms imported from a published dataset (category, pattern, families).</summary>
    private static IReadOnlyList<string> AnnotationTermsOf(FeatureSnapshot s, Dictionary<string, IndexedProtein> proteins)
    {
        var shared = SharedTerms(s.TopExampleIds.Take(AnnotationExamples).Select(id => proteins.GetValueOrDefault(id)).OfType<IndexedProtein>().ToList());
        return s.ImportedTerms.Length == 0 ? shared : [.. shared.Concat(s.ImportedTerms).Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// Snapshots in the order given: statistics from the feature pages (one call per page), descriptions only from the
    /// feature grains that may have one (marked in their page, or in the SAE's curation index, which also covers
    /// features described before pages kept marks). A feature without a description is never activated: a first export
    /// of an SAE reads one blob per 256 features instead of one per feature.
    /// </summary>
    private static async Task<FeatureSnapshot[]> SnapshotsAsync(IGrainFactory grains, string saeId, IReadOnlyList<int> indices, int topExamples)
    {
        var curated = grains.GetGrain<ICurationIndexGrain>(saeId).DescribedAsync(indices.Min(), indices.Max() + 1);
        var (statistics, described) = await FeaturePages.ReadAsync(grains, saeId, indices, topExamples);
        described.UnionWith(await curated);
        var snapshots = statistics.Select((s, at) => FeatureSnapshot.From(indices[at], s)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, indices.Count).Where(at => described.Contains(indices[at])).Select(async at =>
            snapshots[at] = await grains.GetGrain<IFeatureGrain>(new FeatureKey(saeId, indices[at]).ToString()).GetSnapshotAsync(topExamples)));
        return snapshots;
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

    /// <summary>The search-index document of a feature.</summary>
    public static FeatureDocument ToDocument(Row row) => new(
        row.Key.SaeId, row.Key.Index, row.Snapshot.Current?.Label, row.Snapshot.Current?.Text, row.Snapshot.Current?.Status,
        row.Snapshot.Current?.Source, row.Snapshot.Current?.Score, row.Snapshot.MaxActivation, row.Snapshot.DocumentCount, row.CorpusSize,
        Idf(row), row.AnnotationTerms, DateTimeOffset.UtcNow);

    /// <summary>The bulk-export record of a feature.</summary>
    public static FeatureExportRecord ToExportRecord(Row row) => new(
        row.Key.SaeId, row.Key.Index, row.Snapshot.Current?.Label, row.Snapshot.Current?.Text, row.Snapshot.Current?.Status,
        row.Snapshot.Current?.Source, row.Snapshot.Current?.Score, row.Snapshot.MaxActivation, row.Snapshot.DocumentCount, row.CorpusSize,
        Idf(row), row.Snapshot.TopExampleIds);

    private static double? Idf(Row row) =>
        row.Snapshot.DocumentCount > 0 && row.CorpusSize > 0 ? Math.Log((double)row.CorpusSize / row.Snapshot.DocumentCount) : null;

    /// <summary>Documents for the keys that have something worth indexing (a description or any activity).</summary>
    public static async Task<List<FeatureDocument>> DocumentsAsync(IGrainFactory grains, IEnumerable<FeatureKey> keys)
    {
        var documents = new List<FeatureDocument>();
        foreach (var group in keys.GroupBy(k => k.SaeId))
        {
            var rows = await LoadAsync(grains, group.Key, [.. group.Select(k => k.Index).Distinct()], 0, withAnnotationTerms: true);
            documents.AddRange(rows.Where(r => r.Snapshot.HasContent).Select(ToDocument));
        }
        return documents;
    }

    /// <summary>Every feature of an SAE, a page at a time, for rebuilds and exports (memory bounded by one page).</summary>
    public static async IAsyncEnumerable<Row> EnumerateAsync(IGrainFactory grains, string saeId, int codebookSize, int topExampleIds, bool withAnnotationTerms,
        int pageSize = 256, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var start = 0; start < codebookSize; start += pageSize)
        {
            ct.ThrowIfCancellationRequested();
            var page = Enumerable.Range(start, Math.Min(pageSize, codebookSize - start)).ToArray();
            foreach (var row in await LoadAsync(grains, saeId, page, topExampleIds, withAnnotationTerms)) yield return row;
        }
    }
}
