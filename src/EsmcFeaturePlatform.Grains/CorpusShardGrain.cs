using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Concurrency;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// One shard of an SAE's corpus: a front for its partition of the <see cref="CorpusTable"/>. It keeps no state (the
/// table is the truth and enforces first-writer-wins per row), so it runs as a stateless worker on the caller's silo:
/// no extra hop, no activation that grows with the corpus, and readers never queue behind a claim.
/// </summary>
[StatelessWorker]
public sealed class CorpusShardGrain(CorpusTable corpus) : Grain, ICorpusShardGrain
{
    private string Partition
    {
        get
        {
            var (saeId, shard) = GrainKeys.CorpusShard.Parse(this.GetPrimaryKeyString());
            return CorpusTable.PartitionKey(saeId, shard);
        }
    }

    // The same id twice in one batch is claimed once, by its first record (file order).
    public Task<string[]> ClaimAsync(string batchKey, IndexedProtein[] proteins) =>
        corpus.ClaimAsync(Partition, batchKey, [.. proteins.DistinctBy(p => p.Id, StringComparer.Ordinal)], IsAbandonedAsync);

    /// <summary>A claim of an indexing job that failed before committing that batch (or has no state) is dead: take it over.</summary>
    private async Task<bool> IsAbandonedAsync(string claim) =>
        GrainKeys.CorpusClaim.TryParse(claim) is { } c && c.JobId.StartsWith(JobKinds.IndexCorpusIdPrefix, StringComparison.Ordinal)
        && await GrainFactory.GetGrain<IIndexingJobGrain>(c.JobId).IsClaimAbandonedAsync(c.BatchNumber);

    public Task ReleaseAsync(string batchKey, string[] sequenceIds) => corpus.ReleaseAsync(Partition, batchKey, sequenceIds);

    public Task<IndexedProtein[]> GetAsync(string[] sequenceIds) => corpus.GetAsync(Partition, sequenceIds);

    public Task<int> CountAsync() => corpus.CountAsync(Partition);

    public Task<IndexedProtein[]> SampleAsync(int count) => corpus.SampleAsync(Partition, count);
}
