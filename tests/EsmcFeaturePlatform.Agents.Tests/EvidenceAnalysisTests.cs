using System.Numerics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;

namespace EsmcFeaturePlatform.Agents.Tests;

public class EvidenceAnalysisTests
{
    [Fact]
    public void Fixture_is_read_by_the_corpus_reader_with_feature_tables()
    {
        Assert.Equal(100, SwissProt.All.Count);
        Assert.True(SwissProt.All.Count(p => SwissProt.Has(p, "TRANSMEM")) >= 10);
    }

    [Fact]
    public void Transmembrane_feature_is_found_by_residue_enrichment_on_real_proteins()
    {
        var feature = SyntheticFeature.Inside("TRANSMEM");
        var report = AnnotationEnrichment.Compute(feature.Activating, feature.NonActivating, 0.3);

        var best = report.Residue[0];
        Assert.Equal("TRANSMEM", best.Concept);
        Assert.True(best.Significant);
        Assert.True(best.F1 > 0.95, $"F1 {best.F1}");
        Assert.True(report.Keywords.First(k => k.Significant).Concept.Contains("membrane", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Precision_and_recall_match_an_independent_count_for_a_noisy_feature()
    {
        // Fires on hydrophobic residues inside TRANSMEM and on every 23rd residue elsewhere: neither precision nor recall is 1.
        const string hydrophobic = "AILMFVW";
        var feature = new SyntheticFeature("test/layer1", 3, p =>
        {
            if (!SwissProt.Has(p, "TRANSMEM")) return null;
            var acts = new float[p.Sequence.Length];
            var inside = Inside(p, "TRANSMEM");
            for (var i = 0; i < acts.Length; i++)
                if ((inside[i] && hydrophobic.Contains(p.Sequence[i], StringComparison.Ordinal)) || (!inside[i] && i % 23 == 0)) acts[i] = 5f;
            return acts;
        });

        int tp = 0, fp = 0, fn = 0;
        foreach (var ex in feature.Activating.Concat(feature.NonActivating))
        {
            var protein = SwissProt.All.Single(p => p.Id == ex.Example.SequenceId);
            var inside = Inside(protein, "TRANSMEM");
            var acts = feature.Activations.GetValueOrDefault(protein.Id) ?? new float[inside.Length];
            for (var i = 0; i < inside.Length; i++)
            {
                if (acts[i] > 0 && inside[i]) tp++;
                else if (acts[i] > 0) fp++;
                else if (inside[i]) fn++;
            }
        }

        var report = AnnotationEnrichment.Compute(feature.Activating, feature.NonActivating, 0.3);
        var tm = report.Residue.Single(c => c.Concept == "TRANSMEM");
        Assert.Equal(tp, tm.TruePositives);
        Assert.Equal(fp, tm.FalsePositives);
        Assert.Equal(fn, tm.FalseNegatives);
        Assert.Equal((double)tp / (tp + fp), tm.Precision, 12);
        Assert.Equal((double)tp / (tp + fn), tm.Recall, 12);
        Assert.InRange(tm.Recall, 0.2, 0.9);
        Assert.True(tm.Significant);
    }

    [Fact]
    public void Disulfide_cysteines_are_found_as_a_point_feature()
    {
        // DISULFID entries name the two bonded cysteines, not the residues between them.
        var feature = new SyntheticFeature("test/layer1", 11, p =>
        {
            var bonds = p.Annotations.Where(a => a.Type == "DISULFID").ToList();
            if (bonds.Count == 0) return null;
            var acts = new float[p.Sequence.Length];
            foreach (var b in bonds)
                foreach (var pos in new[] { b.Start, b.End })
                    if (pos >= 1 && pos <= acts.Length) acts[pos - 1] = 3f + pos % 5;
            return acts;
        });
        var analysis = EvidenceAnalysis.Build(feature.Evidence());

        Assert.Equal("DISULFID", analysis.Enrichment.Residue[0].Concept);
        Assert.True(analysis.Enrichment.Residue[0].Significant);
        Assert.Equal('C', analysis.Residues.PeakResidues[0].Residue);
        Assert.Equal('C', analysis.Residues.Composition[0].Residue);
    }

    [Fact]
    public void Unrelated_annotation_is_not_called_significant()
    {
        // Activations on the first residues of proteins with TRANSMEM say nothing about DISULFID.
        var feature = new SyntheticFeature("test/layer1", 12, p => SwissProt.Has(p, "TRANSMEM")
            ? [.. Enumerable.Range(0, p.Sequence.Length).Select(i => i < 3 ? 4f : 0f)]
            : null);
        var report = AnnotationEnrichment.Compute(feature.Activating, feature.NonActivating, 0.3);
        Assert.DoesNotContain(report.Residue, c => c.Concept == "DISULFID" && c.Significant);
        Assert.DoesNotContain(report.Residue, c => c.Concept == "TRANSMEM" && c.Significant);
    }

    [Theory]
    [InlineData(50, 10, 12, 5)]
    [InlineData(30, 3, 20, 3)]
    [InlineData(40, 20, 10, 0)]
    [InlineData(25, 5, 5, 4)]
    [InlineData(25, 5, 5, 1)]
    [InlineData(60, 30, 30, 15)]
    [InlineData(60, 30, 30, 9)]
    [InlineData(60, 30, 30, 24)]
    [InlineData(200, 120, 150, 80)]
    public void Hypergeometric_tail_matches_exact_combinatorics(int population, int successes, int draws, int observed)
    {
        BigInteger Choose(int n, int k)
        {
            if (k < 0 || k > n) return BigInteger.Zero;
            BigInteger r = 1;
            for (var i = 1; i <= k; i++) r = r * (n - k + i) / i;
            return r;
        }
        BigInteger numerator = 0;
        for (var x = observed; x <= Math.Min(draws, successes); x++) numerator += Choose(successes, x) * Choose(population - successes, draws - x);
        var exact = (double)numerator / (double)Choose(population, draws);
        var actual = Hypergeometric.UpperTail(population, successes, draws, observed);
        Assert.True(Math.Abs(exact - actual) <= 1e-9 * Math.Max(1e-300, exact) + 1e-12, $"exact {exact}, got {actual}");
    }

    [Fact]
    public void Log_factorial_beyond_the_table_agrees_with_summed_logs()
    {
        var sum = 0.0;
        for (var i = 1; i <= 1000; i++) sum += Math.Log(i);
        Assert.Equal(sum, Hypergeometric.LogFactorial(1000), 8);
    }

    [Fact]
    public void Markup_marks_active_residues_with_activations_scaled_0_to_10()
    {
        var ex = new AnnotatedExample(new ActivationExample("P1", 8f, 3, "MKTAY", [0f, 1f, 8f, 4f, 0f]),
            [new ResidueAnnotation("BINDING", 3, 3, "ATP")], ["ATP-binding"]);
        var line = ActivationMarkup.FormatActivating(ex, featureMax: 10, threshold: 0.3, radius: 16);
        // 1 is below 0.3 x 8 so K stays bare; T is 8/10 of the feature max, A is 4/10.
        Assert.Contains("M K [T:8] [A:4] Y", line, StringComparison.Ordinal);
        Assert.Contains("BINDING 3-3 (ATP)", line, StringComparison.Ordinal);
        Assert.Contains("ATP-binding", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Markup_windows_long_proteins_around_the_peak()
    {
        var seq = new string('A', 100) + "W" + new string('G', 100);
        var acts = new float[seq.Length];
        acts[100] = 2f;
        var line = ActivationMarkup.FormatActivating(new AnnotatedExample(new ActivationExample("P2", 2f, 101, seq, acts), [], []), 4, 0.3, 3);
        Assert.Contains("residues 98-104): ... A A A [W:5] G G G ...", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Pattern_classifier_tells_point_motif_periodic_and_whole()
    {
        var protein = SwissProt.All.First(p => p.Sequence.Length > 200);
        AnnotatedExample Make(Func<int, float> f) => SwissProt.Example(protein, [.. Enumerable.Range(0, protein.Sequence.Length).Select(f)]);
        IReadOnlyList<AnnotatedExample> Many(Func<int, float> f) => [Make(f), Make(f), Make(f)];

        Assert.Equal(ActivationPatterns.Point, ActivationPatternClassifier.Classify(Many(i => i == 40 ? 5 : 0), 0.3).Pattern);
        Assert.Equal(ActivationPatterns.Motif, ActivationPatternClassifier.Classify(Many(i => i is >= 40 and < 60 ? 5 : 0), 0.3).Pattern);
        var periodic = ActivationPatternClassifier.Classify(Many(i => i is >= 20 and < 120 && i % 7 == 0 ? 5 : 0), 0.3);
        Assert.Equal(ActivationPatterns.Periodic, periodic.Pattern);
        Assert.Equal(7, periodic.Period);
        Assert.Equal(ActivationPatterns.Whole, ActivationPatternClassifier.Classify(Many(i => 1 + i % 3), 0.3).Pattern);
    }

    [Fact]
    public void Transmembrane_feature_is_a_motif_with_hydrophobic_composition()
    {
        var analysis = EvidenceAnalysis.Build(SyntheticFeature.Inside("TRANSMEM").Evidence());
        Assert.Equal(ActivationPatterns.Motif, analysis.Pattern.Pattern);
        var enriched = analysis.Residues.Enriched.Select(e => e.Residue).ToList();
        Assert.Contains(enriched, r => "LIVF".Contains(r, StringComparison.Ordinal));
        Assert.DoesNotContain(enriched, r => "DEKR".Contains(r, StringComparison.Ordinal));
    }

    [Fact]
    public void Bad_examples_are_rejected_with_the_protein_named()
    {
        var good = SyntheticFeature.Inside("TRANSMEM").Evidence();
        var bad = good with { TopExamples = [new AnnotatedExample(new ActivationExample("BROKEN", 1, 1, "MKT", [1f, 0f]), [], [])] };
        var ex = Assert.Throws<ArgumentException>(() => EvidenceAnalysis.Build(bad));
        Assert.Contains("BROKEN", ex.Message, StringComparison.Ordinal);
        var nan = good with { TopExamples = [new AnnotatedExample(new ActivationExample("NAN", 1, 1, "MK", [float.NaN, 0f]), [], [])] };
        Assert.Contains("NAN", Assert.Throws<ArgumentException>(() => EvidenceAnalysis.Build(nan)).Message, StringComparison.Ordinal);
    }

    private static bool[] Inside(EsmcFeaturePlatform.Corpus.ProteinRecord p, string type)
    {
        var mask = new bool[p.Sequence.Length];
        foreach (var a in p.Annotations.Where(a => a.Type == type))
            for (var pos = a.Start; pos <= Math.Min(a.End, mask.Length); pos++) mask[pos - 1] = true;
        return mask;
    }
}
