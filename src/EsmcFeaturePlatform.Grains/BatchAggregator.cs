using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

/// <summary>One batch's contribution to every feature it touched, plus the SAE-wide statistics delta.</summary>
public sealed record BatchAggregate(IReadOnlyList<(int Index, FeatureBatchUpdate Update)> Features, StatisticsBatchUpdate Statistics);

/// <summary>
/// Folds a batch of encoded proteins into one update per active feature, so the job sends one call per
/// feature per batch. Memory is bounded by the batch (its non-zero activations), never by the corpus.
/// </summary>
public static class BatchAggregator
{
    public static BatchAggregate Aggregate(
        string jobId, int batchNumber, int codebookSize, int exampleCapacity, int sampleCapacity,
        IReadOnlyList<(string SequenceId, EncodedSequence Encoded)> proteins)
    {
        var perFeature = new SortedDictionary<int, Accumulator>();
        foreach (var (sequenceId, encoded) in proteins)
        {
            var sparse = new Dictionary<int, (List<int> Positions, List<float> Values)>();
            for (var r = 0; r < encoded.Residues.Length; r++)
            {
                foreach (var activation in encoded.Residues[r])
                {
                    if (!(activation.Value > 0)) continue;
                    if (!sparse.TryGetValue(activation.Index, out var lists)) sparse[activation.Index] = lists = ([], []);
                    lists.Positions.Add(r + 1);
                    lists.Values.Add(activation.Value);
                }
            }
            var hash = CorpusSharding.StableHash(sequenceId);
            foreach (var pooled in encoded.Pooled)
            {
                if (!(pooled.Value > 0) || !sparse.TryGetValue(pooled.Index, out var lists)) continue;
                if (!perFeature.TryGetValue(pooled.Index, out var acc)) perFeature[pooled.Index] = acc = new Accumulator();
                acc.Max = Math.Max(acc.Max, pooled.Value);
                acc.DocumentCount++;
                acc.Examples.Add(new StoredExample(sequenceId, pooled.Value, pooled.Position, encoded.Length, [.. lists.Positions], [.. lists.Values], hash));
            }
        }

        var features = new List<(int, FeatureBatchUpdate)>(perFeature.Count);
        foreach (var (index, acc) in perFeature)
        {
            features.Add((index, new FeatureBatchUpdate(jobId, batchNumber, acc.Max, acc.DocumentCount, exampleCapacity,
                Select(acc.Examples, exampleCapacity, StoredExample.CompareTopOrder),
                Select(acc.Examples, sampleCapacity, StoredExample.CompareSampleOrder))));
        }
        var statistics = new StatisticsBatchUpdate(jobId, batchNumber, codebookSize, proteins.Count,
            [.. perFeature.Keys], [.. perFeature.Values.Select(a => a.Max)], [.. perFeature.Values.Select(a => a.DocumentCount)]);
        return new BatchAggregate(features, statistics);
    }

    private static StoredExample[] Select(List<StoredExample> examples, int capacity, Comparison<StoredExample> order)
    {
        var sorted = examples.ToArray();
        Array.Sort(sorted, order);
        return sorted.Length <= capacity ? sorted : sorted[..capacity];
    }

    private sealed class Accumulator
    {
        public float Max;
        public int DocumentCount;
        public List<StoredExample> Examples { get; } = [];
    }
}
