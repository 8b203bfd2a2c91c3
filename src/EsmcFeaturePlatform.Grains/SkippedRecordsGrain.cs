using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.SkippedRecordsState.v1")]
public sealed class SkippedRecordsState
{
    [Id(0)] public List<SkippedRecord> Records { get; set; } = [];
    /// <summary>The last window (its last batch number) appended: a replayed window is not appended twice.</summary>
    [Id(1)] public int LastWindow { get; set; } = -1;
    /// <summary>Skipped records past IndexingOptions.MaxSkippedRecordsKept: counted, not kept.</summary>
    [Id(2)] public int NotKept { get; set; }
}

/// <summary>
/// Every record one indexing job skipped (key: the job id), so that a job over a real corpus can report thousands of
/// skipped records without its own state (saved at every window) growing with them. Written only by windows that
/// skipped something.
/// </summary>
public sealed class SkippedRecordsGrain(
    [PersistentState("skipped", GrainStorage.Name)] IPersistentState<SkippedRecordsState> state,
    IOptions<IndexingOptions> options) : Grain, ISkippedRecordsGrain
{
    public async Task AppendAsync(int windowLastBatch, SkippedRecord[] records)
    {
        var s = state.State;
        if (windowLastBatch <= s.LastWindow) return;
        var room = Math.Max(0, options.Value.MaxSkippedRecordsKept - s.Records.Count);
        s.Records.AddRange(records.Take(room));
        s.NotKept += Math.Max(0, records.Length - room);
        s.LastWindow = windowLastBatch;
        // The marker above guards the records: both are stored together, or the activation is dropped (StorageWrites).
        await state.WriteOrDropAsync(this);
    }

    public Task<SkippedRecordPage> GetPageAsync(int offset, int count)
    {
        var s = state.State;
        var page = s.Records.Skip(offset).Take(count).ToArray();
        return Task.FromResult(new SkippedRecordPage(s.Records.Count + s.NotKept, page));
    }
}
