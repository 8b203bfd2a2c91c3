using Orleans.Runtime;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.NormalizationStatsState.v1")]
public sealed class NormalizationStatsState
{
    [Id(0)] public int CorpusSize { get; set; }
    /// <summary>Max raw activation per feature (0 = never active), sized to the codebook on first use.</summary>
    [Id(1)] public float[] Max { get; set; } = [];
    [Id(2)] public int[] DocumentCount { get; set; } = [];
    [Id(3)] public Dictionary<string, int> LastAppliedBatch { get; set; } = [];
    [Id(4)] public ImportedStatistics? Imported { get; set; }
}

/// <summary>
/// Per SAE: the corpus-wide statistics of every feature in two small arrays (so normalization and
/// <c>normalizationStats</c> need one call, not one per feature), updated by the same idempotent batches that
/// update the feature grains, and the statistics an admin imported.
/// </summary>
public sealed class NormalizationStatsGrain(
    [PersistentState("stats", GrainStorage.Name)] IPersistentState<NormalizationStatsState> state) : Grain, INormalizationStatsGrain
{
    public async Task ApplyBatchAsync(StatisticsBatchUpdate update)
    {
        var s = state.State;
        if (s.LastAppliedBatch.TryGetValue(update.JobId, out var last) && update.BatchNumber <= last) return;
        EnsureSize(update.CodebookSize);
        for (var i = 0; i < update.Indices.Length; i++)
        {
            var j = update.Indices[i];
            if ((uint)j >= (uint)s.Max.Length) throw new ArgumentOutOfRangeException(nameof(update), $"Feature index {j} is outside the codebook of {s.Max.Length}.");
            s.Max[j] = Math.Max(s.Max[j], update.MaxValues[i]);
            s.DocumentCount[j] += update.DocumentCountDeltas[i];
        }
        s.CorpusSize += update.CorpusSizeDelta;
        s.LastAppliedBatch[update.JobId] = update.BatchNumber;
        // The marker above guards the counts: both are stored together, or the activation is dropped (StorageWrites).
        await state.WriteOrDropAsync(this);
    }

    private void EnsureSize(int codebookSize)
    {
        var s = state.State;
        if (s.Max.Length >= codebookSize) return;
        var max = new float[codebookSize];
        var count = new int[codebookSize];
        s.Max.CopyTo(max, 0);
        s.DocumentCount.CopyTo(count, 0);
        s.Max = max;
        s.DocumentCount = count;
    }

    public Task<CorpusStatistics> GetCorpusStatisticsAsync(int[] indices)
    {
        var s = state.State;
        var features = indices.Select(j =>
        {
            var count = j < s.DocumentCount.Length ? s.DocumentCount[j] : 0;
            return new FeatureStats(j, count > 0 ? s.Max[j] : null, count, s.CorpusSize);
        }).ToArray();
        return Task.FromResult(new CorpusStatistics(s.CorpusSize, features));
    }

    public Task<NormalizationStats?> GetCorpusNormalizationAsync(int codebookSize)
    {
        var s = state.State;
        if (s.CorpusSize == 0) return Task.FromResult<NormalizationStats?>(null);
        var max = new float[codebookSize];
        var idf = new float[codebookSize];
        for (var j = 0; j < Math.Min(codebookSize, s.Max.Length); j++)
        {
            if (s.DocumentCount[j] == 0) continue;   // never active: max 0 makes its normalized value 0
            max[j] = s.Max[j];
            idf[j] = (float)Math.Log((double)s.CorpusSize / s.DocumentCount[j]);
        }
        return Task.FromResult<NormalizationStats?>(new NormalizationStats(max, idf));
    }

    public Task<ImportedStatistics?> GetImportedAsync() => Task.FromResult(state.State.Imported);

    public async Task ImportAsync(ImportedStatistics statistics)
    {
        state.State.Imported = statistics;
        await state.WriteOrDropAsync(this);
    }
}
