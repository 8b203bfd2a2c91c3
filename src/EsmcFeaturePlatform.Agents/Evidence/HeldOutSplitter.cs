using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Agents.Evidence;

/// <summary>Held-out proteins for scoring, never shown to the explainer; balanced by construction.</summary>
public sealed record HeldOutSet(IReadOnlyList<AnnotatedExample> Activating, IReadOnlyList<AnnotatedExample> NonActivating)
{
    public bool CanScore => Activating.Count > 0 && NonActivating.Count > 0;
}

public sealed record EvidenceSplit(FeatureEvidence Shown, HeldOutSet HeldOut);

public static class HeldOutSplitter
{
    /// <summary>
    /// Takes up to <paramref name="perClass"/> activating proteins spread evenly across the activation
    /// range (delphi's quantile-stratified test set) and as many non-activating ones, leaving at least
    /// half of each for the explainer and always the strongest example. Deterministic, so a re-run
    /// scores on the same proteins. Every copy of a held-out protein (by sequence id) is removed from
    /// what the explainer sees.
    /// </summary>
    public static EvidenceSplit Split(FeatureEvidence evidence, int perClass)
    {
        var pool = evidence.TopExamples.Concat(evidence.QuantileExamples)
            .DistinctBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            .OrderByDescending(e => e.Example.MaxValue).ThenBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            .ToList();
        var negatives = evidence.NonActivatingExamples
            .DistinctBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            .Where(n => !pool.Any(p => p.Example.SequenceId == n.Example.SequenceId))
            .OrderBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            .ToList();

        var n = Math.Min(Math.Max(0, perClass), Math.Min((pool.Count - 1) / 2, negatives.Count / 2));
        if (n <= 0) return new EvidenceSplit(evidence, new HeldOutSet([], []));

        // Stride through the ranked pool starting below the top so held-out spans the whole range.
        var heldActivating = Stride(pool.Skip(1).ToList(), n);
        var heldNegative = Stride(negatives, n);
        var held = new HashSet<string>(heldActivating.Concat(heldNegative).Select(e => e.Example.SequenceId), StringComparer.Ordinal);
        bool Keep(AnnotatedExample e) => !held.Contains(e.Example.SequenceId);
        var shown = evidence with
        {
            TopExamples = [.. evidence.TopExamples.Where(Keep)],
            QuantileExamples = [.. evidence.QuantileExamples.Where(Keep)],
            NonActivatingExamples = [.. evidence.NonActivatingExamples.Where(Keep)],
        };
        return new EvidenceSplit(shown, new HeldOutSet(heldActivating, heldNegative));
    }

    private static List<AnnotatedExample> Stride(List<AnnotatedExample> items, int n)
    {
        var picked = new List<AnnotatedExample>(n);
        for (var i = 0; i < n; i++) picked.Add(items[(int)((i + 0.5) * items.Count / n)]);
        return picked;
    }
}
