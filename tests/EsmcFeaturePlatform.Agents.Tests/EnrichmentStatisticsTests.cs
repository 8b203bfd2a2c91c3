using EsmcFeaturePlatform.Abstractions.Evidence;

namespace EsmcFeaturePlatform.Agents.Tests;

/// <summary>The two statistical pieces of annotation enrichment: the protein-level rotation test and Benjamini-Hochberg over a family.</summary>
public class EnrichmentStatisticsTests
{
    private static bool[] Mask(int length, params int[] active)
    {
        var m = new bool[length];
        foreach (var a in active) m[a] = true;
        return m;
    }

    [Fact]
    public void The_rotation_p_value_equals_a_brute_force_count_over_every_combination_of_offsets()
    {
        var proteins = new[]
        {
            new RotationTest.Protein(Mask(7, 1, 2, 3), [2, 3, 4]),
            new RotationTest.Protein(Mask(5, 0, 4), [0, 1]),
            new RotationTest.Protein(Mask(9, 4, 5), [5, 6, 7, 8]),
        };
        static int Overlap(RotationTest.Protein p, int shift) =>
            Enumerable.Range(0, p.Mask.Length).Count(a => p.Mask[a] && p.ConceptResidues.Contains((a + shift) % p.Mask.Length));
        var observed = proteins.Sum(p => Overlap(p, 0));
        int atLeast = 0, all = 0;
        for (var s0 = 0; s0 < 7; s0++)
            for (var s1 = 0; s1 < 5; s1++)
                for (var s2 = 0; s2 < 9; s2++)
                {
                    all++;
                    if (Overlap(proteins[0], s0) + Overlap(proteins[1], s1) + Overlap(proteins[2], s2) >= observed) atLeast++;
                }
        Assert.Equal((double)atLeast / all, RotationTest.UpperTail(proteins), 12);
    }

    [Fact]
    public void One_run_on_one_domain_is_one_chance_event_not_twenty_independent_residues()
    {
        // A 20-residue run exactly on a 20-residue domain of a 100-residue protein: the residue-level hypergeometric test
        // calls this p ~ 1e-20; rotating the run over the protein puts it fully on the domain at 1 offset in 100.
        var mask = Mask(100, [.. Enumerable.Range(40, 20)]);
        var p = RotationTest.UpperTail([new RotationTest.Protein(mask, [.. Enumerable.Range(40, 20)])]);
        Assert.Equal(0.01, p, 12);
        Assert.True(Hypergeometric.UpperTail(100, 20, 20, 20) < 1e-15);
    }

    [Fact]
    public void A_concept_covering_whole_proteins_cannot_be_enriched()
    {
        var p = RotationTest.UpperTail([new RotationTest.Protein(Mask(30, 3, 4, 5), [.. Enumerable.Range(0, 30)])]);
        Assert.Equal(1.0, p);
    }

    [Fact]
    public void The_same_placement_in_many_proteins_is_strong_evidence()
    {
        var proteins = Enumerable.Range(0, 10).Select(i => new RotationTest.Protein(Mask(50, 10, 11, 12), [10, 11, 12])).ToArray();
        Assert.True(RotationTest.UpperTail(proteins) < 1e-15);
    }

    [Fact]
    public void Benjamini_Hochberg_matches_the_textbook_values()
    {
        // Benjamini & Hochberg style example: q_(i) = min_{j >= i} m p_(j) / j.
        double[] p = [0.01, 0.04, 0.03, 0.005, 0.5];
        var family = EnrichmentFamily.Of(p);
        Assert.Equal(5, family.Count);
        Assert.Equal(0.025, family.Adjust(0.005), 12);     // min(5*0.005/1, 5*0.01/2=0.025, ...)
        Assert.Equal(0.025, family.Adjust(0.01), 12);
        Assert.Equal(0.05, family.Adjust(0.03), 12);       // min(5*0.03/3, 5*0.04/4) = 0.05
        Assert.Equal(0.05, family.Adjust(0.04), 12);
        Assert.Equal(0.5, family.Adjust(0.5), 12);
        // Ties share one value; a larger family makes every test harder to pass.
        Assert.Equal(0.02, EnrichmentFamily.Of([0.02, 0.02]).Adjust(0.02), 12);
        Assert.True(EnrichmentFamily.Of([.. p, .. Enumerable.Repeat(0.9, 95)]).Adjust(0.005) > 0.4);
    }

    [Fact]
    public void A_report_corrected_over_a_larger_family_loses_its_badges()
    {
        var proteins = Enumerable.Range(0, 4).Select(i => new RotationTest.Protein(Mask(40, 5, 6), [5, 6])).ToArray();
        var p = RotationTest.UpperTail(proteins);
        Assert.True(p < 0.05 / 100, $"p {p}");
        Assert.True(EnrichmentFamily.Of([p]).Adjust(p) < EnrichmentFamily.FalseDiscoveryRate);
        Assert.False(EnrichmentFamily.Of([p, .. Enumerable.Repeat(0.5, 1_000_000)]).Adjust(p) < EnrichmentFamily.FalseDiscoveryRate);
    }

    [Fact]
    public void The_residue_matched_p_value_equals_a_brute_force_count_over_every_shuffle_within_amino_acids()
    {
        // One protein, two amino acids; the active residues are re-drawn among residues of the same amino acid.
        const string sequence = "ACAACCAACA";
        var mask = Mask(10, 1, 2, 4, 6);                 // C, A, C, A active
        int[] concept = [1, 2, 3, 4];
        var protein = new RotationTest.Protein(mask, concept, sequence);
        var observed = concept.Count(c => mask[c]);
        var a = Enumerable.Range(0, 10).Where(i => sequence[i] == 'A').ToArray();
        var c = Enumerable.Range(0, 10).Where(i => sequence[i] == 'C').ToArray();
        int atLeast = 0, all = 0;
        foreach (var activeA in Subsets(a, 2))
            foreach (var activeC in Subsets(c, 2))
            {
                all++;
                if (activeA.Concat(activeC).Count(concept.Contains) >= observed) atLeast++;
            }
        Assert.Equal((double)atLeast / all, ResidueMatchedTest.UpperTail([protein]), 12);
    }

    [Fact]
    public void A_feature_firing_on_every_cysteine_is_not_a_disulfide_feature_but_one_firing_on_bonded_cysteines_is()
    {
        // Ten proteins with six cysteines each, four of them bonded.
        const string sequence = "MACKLCAAGCLLKCAAPCGGLACKK";
        var cysteines = Enumerable.Range(0, sequence.Length).Where(i => sequence[i] == 'C').ToArray();
        var bonded = cysteines.Take(4).ToArray();
        RotationTest.Protein[] Proteins(int[] active) =>
            [.. Enumerable.Range(0, 10).Select(_ => new RotationTest.Protein(Mask(sequence.Length, active), bonded, sequence))];
        Assert.Equal(1.0, ResidueMatchedTest.UpperTail(Proteins(cysteines)), 12);
        Assert.True(ResidueMatchedTest.UpperTail(Proteins(bonded)) < 1e-6);
    }

    private static IEnumerable<int[]> Subsets(int[] items, int size) =>
        size == 0 ? [[]] : Enumerable.Range(0, items.Length - size + 1)
            .SelectMany(i => Subsets(items[(i + 1)..], size - 1).Select(rest => (int[])[items[i], .. rest]));
}
