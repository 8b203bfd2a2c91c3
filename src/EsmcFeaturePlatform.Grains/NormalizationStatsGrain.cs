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
    /// <summary>The source an admin chose (null: NormalizationPrecedence's default order).</summary>
    [Id(5)] public NormalizationSource? Chosen { get; set; }
}

/// <summary>
/// Per SAE: the corpus-wide statistics of every feature in two small arrays (so normalization and
/// <c>normalizationStats</c> need one call, not one per feature), updated by the same idempotent batches that
/// update the feature grains, the statistics an admin imported and the source an admin chose. It is where the server
/// applies <see cref="NormalizationPrecedence"/>: every normalized answer asks <see cref="GetInEffectAsync"/>.
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

    /// <summary>max and idf arrays from the corpus, or null when nothing is indexed (read only through the precedence rule).</summary>
    private NormalizationStats? CorpusNormalization(int codebookSize)
    {
        var s = state.State;
        if (s.CorpusSize == 0) return null;
        var max = new float[codebookSize];
        var idf = new float[codebookSize];
        for (var j = 0; j < Math.Min(codebookSize, s.Max.Length); j++)
        {
            if (s.DocumentCount[j] == 0) continue;   // never active: max 0 makes its normalized value 0
            max[j] = s.Max[j];
            idf[j] = (float)FeatureMath.Idf(s.CorpusSize, s.DocumentCount[j])!.Value;
        }
        return new NormalizationStats(max, idf);
    }

    public Task<ImportedStatistics?> GetImportedAsync() => Task.FromResult(state.State.Imported);

    public async Task ImportAsync(ImportedStatistics statistics)
    {
        state.State.Imported = statistics;
        await state.WriteOrDropAsync(this);
    }

    public async Task<NormalizationInEffect> GetInEffectAsync(SaeDescriptor sae, bool withStatistics)
    {
        var s = state.State;
        // HasCheckpointStatistics is false when the checkpoint's are Biohub's all-ones placeholders: then they do not exist here.
        var source = NormalizationPrecedence.InEffect(s.Chosen, candidate => candidate switch
        {
            NormalizationSource.Imported => s.Imported is not null,
            NormalizationSource.Checkpoint => sae.HasCheckpointStatistics,
            NormalizationSource.Corpus => s.CorpusSize > 0,
            _ => false,
        });
        var explanation = NormalizationPrecedence.Explain(s.Chosen, source);
        var (stats, corpusSize, importedFrom) = source switch
        {
            NormalizationSource.Imported => (s.Imported?.Stats, (int?)null, s.Imported?.SourcePath),
            NormalizationSource.Checkpoint => (withStatistics ? await GrainFactory.GetGrain<ISaeCatalogGrain>(0).GetCheckpointStatisticsAsync(sae.Id) : null, null, null),
            NormalizationSource.Corpus => (withStatistics ? CorpusNormalization(sae.CodebookSize) : null, s.CorpusSize, null),
            _ => ((NormalizationStats?)null, (int?)null, (string?)null),
        };
        return new NormalizationInEffect(source, withStatistics ? stats : null, corpusSize, s.Chosen, explanation, importedFrom);
    }

    public async Task<NormalizationSourceStatistics[]> GetAvailableSourcesAsync(SaeDescriptor sae)
    {
        var s = state.State;
        var checkpoint = sae.HasCheckpointStatistics ? await GrainFactory.GetGrain<ISaeCatalogGrain>(0).GetCheckpointStatisticsAsync(sae.Id) : null;
        var sources = new List<NormalizationSourceStatistics>();
        if (s.Imported is { } imported) sources.Add(new(NormalizationSource.Imported, imported.Stats, null, imported.SourcePath));
        if (checkpoint is not null) sources.Add(new(NormalizationSource.Checkpoint, checkpoint, null, null));
        if (CorpusNormalization(sae.CodebookSize) is { } corpus) sources.Add(new(NormalizationSource.Corpus, corpus, s.CorpusSize, null));
        return [.. sources];
    }

    public async Task<NormalizationInEffect> ChooseSourceAsync(SaeDescriptor sae, NormalizationSource? source)
    {
        if (source is { } wanted && wanted != NormalizationSource.None)
        {
            var available = (await GetAvailableSourcesAsync(sae)).Select(a => a.Source).ToArray();
            if (!available.Contains(wanted))
                throw new ArgumentException(
                    $"SAE '{sae.Id}' has no {NormalizationPrecedence.Name(wanted)} statistics; available: "
                    + (available.Length == 0 ? "none" : string.Join(", ", available.Select(NormalizationPrecedence.Name))) + ".");
        }
        else source = null;
        if (state.State.Chosen != source)
        {
            state.State.Chosen = source;
            await state.WriteOrDropAsync(this);
        }
        return await GetInEffectAsync(sae, withStatistics: false);
    }
}
