using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;

namespace EsmcFeaturePlatform.Agents.Tests;

public class HeldOutSplitTests
{
    [Fact]
    public void Held_out_proteins_are_balanced_disjoint_from_shown_evidence_and_span_strengths()
    {
        var evidence = SyntheticFeature.Inside("TRANSMEM").Evidence(top: 5);
        var split = HeldOutSplitter.Split(evidence, perClass: 5);

        Assert.Equal(5, split.HeldOut.Activating.Count);
        Assert.Equal(5, split.HeldOut.NonActivating.Count);
        var held = split.HeldOut.Activating.Concat(split.HeldOut.NonActivating).Select(e => e.Example.SequenceId).ToHashSet();
        var shown = split.Shown.TopExamples.Concat(split.Shown.QuantileExamples).Concat(split.Shown.NonActivatingExamples).Select(e => e.Example.SequenceId);
        Assert.Empty(held.Intersect(shown));
        // Nothing is lost: shown + held-out covers every protein of the input.
        var all = evidence.TopExamples.Concat(evidence.QuantileExamples).Concat(evidence.NonActivatingExamples).Select(e => e.Example.SequenceId).ToHashSet();
        Assert.Equal(all.Count, shown.Distinct().Count() + held.Count);
        // The strongest example always stays with the explainer.
        Assert.Contains(evidence.QuantileExamples.MaxBy(e => e.Example.MaxValue)!.Example.SequenceId, split.Shown.QuantileExamples.Select(e => e.Example.SequenceId));
        // Stratified: held-out activations are not all from one end of the range.
        var ranks = evidence.QuantileExamples.OrderByDescending(e => e.Example.MaxValue).Select(e => e.Example.SequenceId).ToList();
        var heldRanks = split.HeldOut.Activating.Select(e => ranks.IndexOf(e.Example.SequenceId)).ToList();
        Assert.True(heldRanks.Min() < ranks.Count / 3 && heldRanks.Max() >= 2 * ranks.Count / 3, string.Join(",", heldRanks));
    }

    [Fact]
    public void Split_is_deterministic_and_leaves_half_for_the_explainer()
    {
        var evidence = SyntheticFeature.Inside("TRANSMEM").Evidence();
        var a = HeldOutSplitter.Split(evidence, 100);
        var b = HeldOutSplitter.Split(evidence, 100);
        Assert.Equal(a.HeldOut.Activating.Select(e => e.Example.SequenceId), b.HeldOut.Activating.Select(e => e.Example.SequenceId));
        Assert.True(a.HeldOut.Activating.Count <= a.Shown.QuantileExamples.Count);
        Assert.Equal(a.HeldOut.Activating.Count, a.HeldOut.NonActivating.Count);
    }

    [Fact]
    public void Too_few_examples_means_no_held_out_set()
    {
        var evidence = SyntheticFeature.Inside("TRANSMEM").Evidence();
        var tiny = evidence with { TopExamples = [], QuantileExamples = [.. evidence.QuantileExamples.Take(2)] };
        var split = HeldOutSplitter.Split(tiny, 5);
        Assert.False(split.HeldOut.CanScore);
        Assert.Same(tiny, split.Shown);
    }
}
