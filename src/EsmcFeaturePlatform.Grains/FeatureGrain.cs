using Orleans.Runtime;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.FeatureState.v1")]
public sealed class FeatureState
{
    [Id(0)] public float? MaxActivation { get; set; }
    [Id(1)] public int DocumentCount { get; set; }
    [Id(2)] public int ExampleCapacity { get; set; }
    [Id(3)] public List<StoredExample> TopExamples { get; set; } = [];
    [Id(4)] public List<StoredExample> Samples { get; set; } = [];
    /// <summary>Per job, the last batch applied: a job writes its batches in order, so one number per job suffices.</summary>
    [Id(5)] public Dictionary<string, int> LastAppliedBatch { get; set; } = [];
    [Id(6)] public List<DescriptionVersion> Descriptions { get; set; } = [];
}

/// <summary>
/// One SAE feature: corpus statistics, the top examples (by per-protein max, ties by id) and a uniform sample of
/// the proteins it fires in (the smallest hashes of their ids), from which examples over the activation range are
/// drawn. Both selections are order-independent, so the state does not depend on how batches were spread or retried.
/// </summary>
public sealed class FeatureGrain(
    [PersistentState("feature", GrainStorage.Name)] IPersistentState<FeatureState> state,
    Microsoft.Extensions.Options.IOptions<IndexingOptions> options) : Grain, IFeatureGrain
{
    private FeatureKey Key => FeatureKey.Parse(this.GetPrimaryKeyString());

    public async Task ApplyBatchAsync(FeatureBatchUpdate update)
    {
        var s = state.State;
        if (s.LastAppliedBatch.TryGetValue(update.JobId, out var last) && update.BatchNumber <= last) return;
        s.LastAppliedBatch[update.JobId] = update.BatchNumber;
        if (update.DocumentCountDelta > 0)
        {
            s.MaxActivation = s.MaxActivation is { } max ? Math.Max(max, update.BatchMax) : update.BatchMax;
            s.DocumentCount += update.DocumentCountDelta;
        }
        s.ExampleCapacity = Math.Max(s.ExampleCapacity, update.ExampleCapacity);
        s.TopExamples = Merge(s.TopExamples, update.TopCandidates, s.ExampleCapacity, StoredExample.CompareTopOrder);
        s.Samples = Merge(s.Samples, update.SampleCandidates, options.Value.SampleCapacity, StoredExample.CompareSampleOrder);
        await state.WriteStateAsync();
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

    public Task<FeatureSummary> GetSummaryAsync() =>
        Task.FromResult(new FeatureSummary(Key.Index, state.State.MaxActivation, state.State.DocumentCount, state.State.TopExamples.Count));

    public Task<ActivationExample[]> GetTopExamplesAsync(int first) =>
        WithSequencesAsync(state.State.TopExamples.Take(Math.Max(0, first)).ToList());

    public Task<ActivationExample[]> GetQuantileSamplesAsync(int count)
    {
        var byValue = state.State.Samples.ToList();
        byValue.Sort(StoredExample.CompareTopOrder);
        if (count <= 0 || byValue.Count == 0) return Task.FromResult(Array.Empty<ActivationExample>());
        if (byValue.Count <= count) return WithSequencesAsync(byValue);
        // Evenly spaced ranks from the highest to the lowest activation: the quantiles of the sample.
        var picked = Enumerable.Range(0, count)
            .Select(i => count == 1 ? 0 : (int)Math.Round(i * (byValue.Count - 1) / (double)(count - 1)))
            .Distinct()
            .Select(i => byValue[i])
            .ToList();
        return WithSequencesAsync(picked);
    }

    public Task<DescriptionVersion[]> GetDescriptionsAsync() => Task.FromResult(state.State.Descriptions.ToArray());

    private async Task<ActivationExample[]> WithSequencesAsync(List<StoredExample> examples)
    {
        if (examples.Count == 0) return [];
        var saeId = Key.SaeId;
        var lookups = examples.GroupBy(e => CorpusSharding.ShardOf(e.SequenceId))
            .Select(g => GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, g.Key))
                .GetAsync(g.Select(e => e.SequenceId).ToArray()));
        var proteins = (await Task.WhenAll(lookups)).SelectMany(p => p).ToDictionary(p => p.Id, p => p.Sequence, StringComparer.Ordinal);
        return examples.Where(e => proteins.ContainsKey(e.SequenceId)).Select(e => e.ToExample(proteins[e.SequenceId])).ToArray();
    }
}
