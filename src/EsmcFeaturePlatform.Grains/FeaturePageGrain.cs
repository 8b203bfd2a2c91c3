using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.FeaturePageState.v1")]
public sealed class FeaturePageState
{
    /// <summary>By feature index; a feature that never fired has no entry.</summary>
    [Id(0)] public Dictionary<int, FeatureExamplesState> Features { get; set; } = [];
    /// <summary>Per job, the last window applied: a job writes its windows in order, so one number per job suffices.</summary>
    [Id(1)] public Dictionary<string, int> LastAppliedBatch { get; set; } = [];
    /// <summary>Features that have (or were about to get) a description: a superset, see IFeaturePageGrain.MarkDescribedAsync.</summary>
    [Id(2)] public HashSet<int> Described { get; set; } = [];
}

/// <summary>One feature's top examples (by per-protein max, ties by id) and uniform sample.</summary>
[GenerateSerializer, Alias("esmc.FeatureExamplesState.v1")]
public sealed class FeatureExamplesState
{
    // Ids 0 and 1 held the feature's max activation and document count, a second copy of what NormalizationStatsState
    // holds (both were written by the same windows). They are read from there now; never reuse the ids.
    [Id(2)] public int ExampleCapacity { get; set; }
    [Id(3)] public List<StoredExample> TopExamples { get; set; } = [];
    [Id(4)] public List<StoredExample> Samples { get; set; } = [];
}

/// <summary>The headlines of a page's described features (<see cref="FeatureHeadline"/>), stored apart from the examples so a description change rewrites a small blob.</summary>
[GenerateSerializer, Alias("esmc.FeaturePageHeadlinesState.v1")]
public sealed class FeaturePageHeadlinesState
{
    [Id(0)] public Dictionary<int, FeatureHeadline> Headlines { get; set; } = [];
}

/// <summary>
/// The examples and headlines of <see cref="FeaturePages.Size"/> consecutive features of one SAE, in one
/// storage blob, so an indexing window costs one write per page rather than per feature. The top examples and the
/// sample (the smallest hashes of the proteins' ids) are order-independent selections, so the state does not depend
/// on how batches were spread or retried. The feature grains read their numbers here; max activation and document
/// count are the SAE's statistics grain's (stored once, there) and joined to every answer.
/// </summary>
public sealed class FeaturePageGrain(
    [PersistentState("featurePage", GrainStorage.Name)] IPersistentState<FeaturePageState> state,
    [PersistentState("featurePageHeadlines", GrainStorage.Name)] IPersistentState<FeaturePageHeadlinesState> headlines,
    Microsoft.Extensions.Options.IOptions<IndexingOptions> options,
    IFeatureChangeNotifier changes) : Grain, IFeaturePageGrain
{
    private string SaeId => GrainKeys.FeaturePage.Parse(this.GetPrimaryKeyString()).SaeId;

    public async Task ApplyBatchAsync(FeaturePageUpdate update)
    {
        var s = state.State;
        if (s.LastAppliedBatch.TryGetValue(update.JobId, out var last) && update.BatchNumber <= last) return;
        s.LastAppliedBatch[update.JobId] = update.BatchNumber;
        foreach (var f in update.Features)
        {
            // f.WindowMax and f.DocumentCountDelta are the statistics grain's to store (the job sends it the same window).
            if (!s.Features.TryGetValue(f.Index, out var feature)) s.Features[f.Index] = feature = new FeatureExamplesState();
            feature.ExampleCapacity = Math.Max(feature.ExampleCapacity, f.ExampleCapacity);
            feature.TopExamples = Merge(feature.TopExamples, f.TopCandidates, feature.ExampleCapacity, StoredExample.CompareTopOrder);
            feature.Samples = Merge(feature.Samples, f.SampleCandidates, options.Value.SampleCapacity, StoredExample.CompareSampleOrder);
        }
        await state.WriteOrDropAsync(this);
        var saeId = SaeId;
        foreach (var f in update.Features) changes.FeatureChanged(new FeatureKey(saeId, f.Index));
    }

    private static List<StoredExample> Merge(List<StoredExample> current, StoredExample[] candidates, int capacity, Comparison<StoredExample> order)
    {
        if (candidates.Length == 0) return current;
        var merged = new List<StoredExample>(current.Count + candidates.Length);
        merged.AddRange(current);
        // A protein is indexed into an SAE once, but guard anyway: a duplicate id would double-show in examples.
        var known = current.Select(e => e.SequenceId).ToHashSet(StringComparer.Ordinal);
        merged.AddRange(candidates.Where(c => known.Add(c.SequenceId)));
        merged.Sort(order);
        if (merged.Count > capacity) merged.RemoveRange(capacity, merged.Count - capacity);
        return merged;
    }

    public async Task<FeatureStatistics> GetAsync(int index, int topExamples, bool withSamples) =>
        Statistics(index, topExamples, withSamples, (await CountsAsync([index]))[0]);

    public async Task<FeaturePageSnapshot> GetPageAsync(int[] indices, int topExamples)
    {
        var counts = await CountsAsync(indices);
        return new FeaturePageSnapshot([.. indices.Select((i, at) => Statistics(i, topExamples, withSamples: false, counts[at]))],
            [.. indices.Where(state.State.Described.Contains)])
        {
            Headlines = [.. indices.Select(i => headlines.State.Headlines.GetValueOrDefault(i))],
        };
    }

    private async Task<FeatureStats[]> CountsAsync(int[] indices) =>
        (await GrainFactory.GetGrain<INormalizationStatsGrain>(SaeId).GetCorpusStatisticsAsync(indices)).Features;

    private FeatureStatistics Statistics(int index, int topExamples, bool withSamples, FeatureStats counts)
    {
        if (!state.State.Features.TryGetValue(index, out var f)) return new FeatureStatistics(counts.MaxActivation, counts.DocumentCount, 0, [], []);
        return new FeatureStatistics(counts.MaxActivation, counts.DocumentCount, f.TopExamples.Count,
            [.. f.TopExamples.Take(Math.Max(0, topExamples))], withSamples ? [.. f.Samples] : []);
    }

    public async Task RecordHeadlineAsync(int index, FeatureHeadline headline)
    {
        if (headline.SameAs(headlines.State.Headlines.GetValueOrDefault(index))) return;
        headlines.State.Headlines[index] = headline;
        await headlines.WriteOrDropAsync(this);
    }

    public async Task MarkDescribedAsync(int index)
    {
        if (state.State.Described.Add(index)) await state.WriteOrDropAsync(this);   // on failure the feature grain does not write either
    }
}
