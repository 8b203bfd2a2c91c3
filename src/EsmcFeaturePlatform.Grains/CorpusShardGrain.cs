using Orleans.Runtime;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.CorpusShardState.v1")]
public sealed class CorpusShardState
{
    [Id(0)] public Dictionary<string, IndexedProtein> Proteins { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Which batch (JOB:BATCH) first stored each protein: a retried batch recognises its own claims.</summary>
    [Id(1)] public Dictionary<string, string> ClaimedBy { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One shard of an SAE's corpus: the indexed proteins and the first-writer-wins claim on their ids.</summary>
public sealed class CorpusShardGrain(
    [PersistentState("corpus", GrainStorage.Name)] IPersistentState<CorpusShardState> state) : Grain, ICorpusShardGrain
{
    public async Task<string[]> ClaimAsync(string batchKey, IndexedProtein[] proteins)
    {
        var s = state.State;
        var owned = new List<string>(proteins.Length);
        var changed = false;
        foreach (var protein in proteins)
        {
            if (s.ClaimedBy.TryGetValue(protein.Id, out var claimant))
            {
                // Same batch retried: still ours (and the same id twice in one batch is only owned once).
                if (claimant == batchKey && !owned.Contains(protein.Id, StringComparer.Ordinal)) owned.Add(protein.Id);
                continue;
            }
            s.ClaimedBy[protein.Id] = batchKey;
            s.Proteins[protein.Id] = protein;
            owned.Add(protein.Id);
            changed = true;
        }
        if (changed) await state.WriteStateAsync();
        return [.. owned];
    }

    public async Task ReleaseAsync(string batchKey, string[] sequenceIds)
    {
        var s = state.State;
        var changed = false;
        foreach (var id in sequenceIds)
        {
            if (s.ClaimedBy.TryGetValue(id, out var claimant) && claimant == batchKey)
            {
                s.ClaimedBy.Remove(id);
                s.Proteins.Remove(id);
                changed = true;
            }
        }
        if (changed) await state.WriteStateAsync();
    }

    public Task<IndexedProtein[]> GetAsync(string[] sequenceIds) =>
        Task.FromResult(sequenceIds.Select(id => state.State.Proteins.GetValueOrDefault(id)).OfType<IndexedProtein>().ToArray());

    public Task<int> CountAsync() => Task.FromResult(state.State.Proteins.Count);

    public Task<IndexedProtein[]> SampleAsync(int count) =>
        Task.FromResult(state.State.Proteins.Values
            .OrderBy(p => CorpusSharding.StableHash(p.Id)).ThenBy(p => p.Id, StringComparer.Ordinal)
            .Take(Math.Max(0, count)).ToArray());
}
