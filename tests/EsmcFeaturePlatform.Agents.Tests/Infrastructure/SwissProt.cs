using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Corpus;

namespace EsmcFeaturePlatform.Agents.Tests.Infrastructure;

/// <summary>The committed 100-entry Swiss-Prot sample (tests/fixtures/uniprot), read once with the real corpus reader.</summary>
public static class SwissProt
{
    private static readonly Lazy<IReadOnlyList<ProteinRecord>> Records = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "uniprot", "swissprot_sample.dat");
        var list = new List<ProteinRecord>();
        var e = CorpusReader.ReadAsync(path).GetAsyncEnumerator();
        try
        {
            while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult()) list.Add(e.Current);
        }
        finally
        {
            e.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return list;
    });

    public static IReadOnlyList<ProteinRecord> All => Records.Value;

    public static bool Has(ProteinRecord p, string type) => p.Annotations.Any(a => a.Type.Equals(type, StringComparison.OrdinalIgnoreCase));

    public static AnnotatedExample Example(ProteinRecord p, float[] activations)
    {
        var max = 0f;
        var pos = 1;
        for (var i = 0; i < activations.Length; i++)
            if (activations[i] > max) { max = activations[i]; pos = i + 1; }
        return new AnnotatedExample(
            new ActivationExample(p.Id, max, pos, p.Sequence, activations),
            [.. p.Annotations.Select(a => new ResidueAnnotation(a.Type, a.Start, a.End, a.Note))],
            p.Keywords);
    }

    public static AnnotatedExample NonActivating(ProteinRecord p) => Example(p, new float[p.Sequence.Length]);
}

/// <summary>
/// Synthetic "features" over real proteins: a rule decides per residue how strongly the feature
/// fires, so a test knows the truth independently of the code under test.
/// </summary>
public sealed class SyntheticFeature
{
    public SyntheticFeature(string saeId, int index, Func<ProteinRecord, float[]?> rule, int maxNonActivating = 40)
    {
        Key = new FeatureKey(saeId, index);
        var activating = new List<AnnotatedExample>();
        var non = new List<AnnotatedExample>();
        foreach (var p in SwissProt.All)
        {
            var acts = rule(p);
            if (acts is not null && acts.Any(a => a > 0)) { activating.Add(SwissProt.Example(p, acts)); Activations[p.Id] = acts; }
            else if (non.Count < maxNonActivating) non.Add(SwissProt.NonActivating(p));
        }
        Activating = [.. activating.OrderByDescending(e => e.Example.MaxValue).ThenBy(e => e.Example.SequenceId, StringComparer.Ordinal)];
        NonActivating = non;
    }

    public FeatureKey Key { get; }
    public IReadOnlyList<AnnotatedExample> Activating { get; }
    public IReadOnlyList<AnnotatedExample> NonActivating { get; }
    public Dictionary<string, float[]> Activations { get; } = new(StringComparer.Ordinal);

    public bool IsActivating(string sequenceId) => Activations.ContainsKey(sequenceId);

    /// <summary>Evidence as a host would pass it: top examples, all activating as the quantile sample, counterexamples.</summary>
    public FeatureEvidence Evidence(int top = 5) => new(Key,
        new FeatureStats(Key.Index, Activating.Max(e => e.Example.MaxValue), Activating.Count, SwissProt.All.Count),
        [.. Activating.Take(top)], Activating, NonActivating, [new NeighbourFeature(Key.Index + 1, 0.42, "Hydrophobic helix")]);

    /// <summary>Fires inside every annotation of <paramref name="type"/>, strongest at its centre, scaled per protein so strengths spread.</summary>
    public static SyntheticFeature Inside(string type, int index = 7)
    {
        var n = 0;
        return new SyntheticFeature("test/layer1", index, p =>
        {
            var spans = p.Annotations.Where(a => a.Type == type).ToList();
            if (spans.Count == 0) return null;
            var scale = 0.4f + 0.6f * ((n++ * 37) % 10) / 9f;
            var acts = new float[p.Sequence.Length];
            foreach (var a in spans)
            {
                var centre = (a.Start + a.End) / 2.0;
                var half = Math.Max(1.0, (a.End - a.Start) / 2.0);
                for (var pos = a.Start; pos <= Math.Min(a.End, acts.Length); pos++)
                    acts[pos - 1] = Math.Max(acts[pos - 1], scale * (float)(4 + 6 * (1 - Math.Abs(pos - centre) / (half + 1))));
            }
            return acts;
        });
    }
}
