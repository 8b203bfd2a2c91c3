using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Runtime;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.CurationIndexState.v1")]
public sealed class CurationIndexState
{
    [Id(0)] public SortedDictionary<int, CurationEntry> Entries { get; set; } = [];
}

/// <summary>
/// An SAE's curation index: the latest version status per described feature (one small entry each), written by
/// the feature grains after their own state, so the review queue pages without visiting every feature. Entries
/// only move forward (by version), so a late, out-of-order update never hides a newer one.
/// </summary>
public sealed class CurationIndexGrain(
    [PersistentState("curation", GrainStorage.Name)] IPersistentState<CurationIndexState> state) : Grain, ICurationIndexGrain
{
    public async Task UpdateAsync(CurationEntry entry)
    {
        if (state.State.Entries.TryGetValue(entry.Index, out var known)
            && (known.LatestVersion > entry.LatestVersion || known with { UpdatedAt = entry.UpdatedAt } == entry)) return;
        state.State.Entries[entry.Index] = entry;
        await state.WriteOrDropAsync(this);
    }

    public Task<int[]> DescribedAsync(int from, int to) =>
        Task.FromResult(state.State.Entries.Keys.SkipWhile(i => i < from).TakeWhile(i => i < to).ToArray());

    public Task<CurationPage> PageAsync(DescriptionStatus status, DescriptionSource? source, int first, int afterIndex)
    {
        var matching = state.State.Entries.Values.Where(e => e.LatestStatus == status && (source is null || e.LatestSource == source));
        var total = matching.Count();
        var after = matching.Where(e => e.Index > afterIndex).Take(first + 1).ToList();
        var hasNext = after.Count > first;
        return Task.FromResult(new CurationPage(total, [.. after.Take(first)], hasNext));
    }
}
