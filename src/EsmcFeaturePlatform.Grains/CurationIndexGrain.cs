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
        // A feature grain sends its updates one after another (it awaits each), so the same latest version with other
        // pending versions is a review of an older version: newer news, not a stale one.
        if (state.State.Entries.TryGetValue(entry.Index, out var known)
            && (known.LatestVersion > entry.LatestVersion
                || (known.LatestVersion == entry.LatestVersion && known.LatestStatus == entry.LatestStatus && known.Pending.SequenceEqual(entry.Pending)))) return;
        state.State.Entries[entry.Index] = entry;
        await state.WriteOrDropAsync(this);
    }

    public Task<int[]> DescribedAsync(int from, int to) =>
        Task.FromResult(state.State.Entries.Keys.SkipWhile(i => i < from).TakeWhile(i => i < to).ToArray());

    public Task<CurationPage> PageAsync(DescriptionStatus status, DescriptionSource? source, int first, int afterIndex)
    {
        // PROPOSED is the review queue: every version still awaiting review, also when a later version was reviewed
        // first. APPROVED and REJECTED describe where features stand: their latest version.
        var matching = state.State.Entries.Values.Where(e =>
            (status == DescriptionStatus.Proposed ? e.Pending.Length > 0 : e.LatestStatus == status) && (source is null || e.LatestSource == source));
        var total = 0;
        var pending = 0;
        foreach (var e in matching)
        {
            total++;
            if (status == DescriptionStatus.Proposed) pending += e.Pending.Length;
        }
        var after = matching.Where(e => e.Index > afterIndex).Take(first + 1).ToList();
        var hasNext = after.Count > first;
        return Task.FromResult(new CurationPage(total, [.. after.Take(first)], hasNext) { PendingVersionCount = pending });
    }
}
