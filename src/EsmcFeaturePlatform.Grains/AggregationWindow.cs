using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

/// <summary>One batch's (or window's) contribution to every feature it touched, plus the SAE-wide statistics delta.</summary>
public sealed record BatchAggregate(string JobId, int BatchNumber, IReadOnlyList<FeatureWindowUpdate> Features, StatisticsBatchUpdate Statistics)
{
    /// <summary>One update per feature page with an active feature (what the job sends: one storage write per page).</summary>
    public IEnumerable<(int Page, FeaturePageUpdate Update)> ByPage() =>
        Features.GroupBy(f => FeaturePages.PageOf(f.Index)).Select(g => (g.Key, new FeaturePageUpdate(JobId, BatchNumber, [.. g])));
}

/// <summary>
/// Folds several consecutive batches into one update per active feature (the indexing job's write window), so a
/// feature page is written once per window instead of once per batch. Memory is bounded by features x (examples +
/// samples) plus one batch's activations, never by the corpus or the window length: each feature keeps only the
/// candidates that can still make its top examples or its sample, which is exact because both selections are
/// top-k under a total order (max value then id; sample hash then id).
/// </summary>
public sealed class AggregationWindow(int codebookSize, int exampleCapacity, int sampleCapacity)
{
    private readonly SortedDictionary<int, Accumulator> _perFeature = new();
    private readonly int _pruneAt = 2 * Math.Max(1, Math.Max(exampleCapacity, sampleCapacity));

    /// <summary>Proteins folded in so far (the corpus size delta).</summary>
    public int Proteins { get; private set; }

    public bool IsEmpty => Proteins == 0;

    public void Add(IReadOnlyList<(string SequenceId, EncodedSequence Encoded)> proteins)
    {
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
                if (!_perFeature.TryGetValue(pooled.Index, out var acc)) _perFeature[pooled.Index] = acc = new Accumulator();
                acc.Max = Math.Max(acc.Max, pooled.Value);
                acc.DocumentCount++;
                acc.Examples.Add(new StoredExample(sequenceId, pooled.Value, pooled.Position, encoded.Length, [.. lists.Positions], [.. lists.Values], hash));
                if (acc.Examples.Count >= _pruneAt) acc.Prune(exampleCapacity, sampleCapacity);
            }
            Proteins++;
        }
    }

    /// <summary>The window's updates, tagged (job, last batch of the window) for the grains' replay rule.</summary>
    public BatchAggregate Build(string jobId, int batchNumber)
    {
        var features = new List<FeatureWindowUpdate>(_perFeature.Count);
        foreach (var (index, acc) in _perFeature)
        {
            features.Add(new FeatureWindowUpdate(index, acc.Max, acc.DocumentCount, exampleCapacity,
                Select(acc.Examples, exampleCapacity, StoredExample.CompareTopOrder),
                Select(acc.Examples, sampleCapacity, StoredExample.CompareSampleOrder)));
        }
        var statistics = new StatisticsBatchUpdate(jobId, batchNumber, codebookSize, Proteins,
            [.. _perFeature.Keys], [.. _perFeature.Values.Select(a => a.Max)], [.. _perFeature.Values.Select(a => a.DocumentCount)]);
        return new BatchAggregate(jobId, batchNumber, features, statistics);
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
        public List<StoredExample> Examples { get; private set; } = [];

        /// <summary>Keeps the union of the best candidates under each selection's order: nothing else can be chosen later.</summary>
        public void Prune(int exampleCapacity, int sampleCapacity)
        {
            // A protein is one candidate per feature (claims make ids unique in an SAE), so its id names the candidate;
            // hashing ids is much cheaper than identity hashes of fresh objects.
            var keep = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in Select(Examples, exampleCapacity, StoredExample.CompareTopOrder)) keep.Add(e.SequenceId);
            foreach (var e in Select(Examples, sampleCapacity, StoredExample.CompareSampleOrder)) keep.Add(e.SequenceId);
            Examples = [.. Examples.Where(e => keep.Contains(e.SequenceId))];
        }
    }
}
