namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>
/// The residue-level enrichment test: is the overlap between a feature's active residues and a concept's residues
/// larger than chance, when chance keeps each protein's own structure?
/// <para>
/// Residues of one protein are not independent observations: activations come in runs (neighbouring residues share
/// their context in the model) and annotations are spans, so one 20-residue run that happens to fall on a 20-residue
/// domain is one chance event, not 20. A residue-level hypergeometric test counts it as 20 and calls almost anything
/// "significant" (65% of the active features of the random demo model had a significant term). Here the protein is
/// the unit: under the null hypothesis each protein's activation mask is rotated (circularly shifted) by an offset
/// drawn uniformly from its length, independently of the other proteins, while its annotations stay put. Rotation
/// keeps the number, the lengths and the spacing of the active runs, so only their placement relative to the
/// annotation is tested (the circular-shift permutation test used for spatially autocorrelated genome data).
/// </para>
/// <para>
/// The p-value is exact, not sampled: a protein of length L has L equally likely offsets, each giving an overlap
/// count, and the null distribution of the summed overlap is the convolution of these per-protein distributions.
/// Proteins where the feature is never active, or the concept absent, always add 0 and drop out. A concept that
/// covers whole proteins (CHAIN) has the same overlap at every offset, so its p-value is 1: it cannot be enriched.
/// </para>
/// </summary>
public static class RotationTest
{
    /// <summary>
    /// One protein: its active-residue mask, the 0-based residues of the concept (sorted, distinct, within the mask), and
    /// its sequence (same length as the mask; used by <see cref="ResidueMatchedTest"/>).
    /// </summary>
    public readonly record struct Protein(bool[] Mask, int[] ConceptResidues, string Sequence = "");

    /// <summary>P(sum of rotated overlaps &gt;= the observed sum of overlaps at offset 0).</summary>
    public static double UpperTail(IEnumerable<Protein> proteins)
    {
        var observed = 0;
        // The null distribution as probabilities over [offset, offset + dist.Length).
        double[] dist = [1.0];
        var offset = 0;
        foreach (var p in proteins)
        {
            var counts = OverlapCounts(p.Mask, p.ConceptResidues, out var observedHere);
            if (counts is null) continue;
            observed += observedHere;
            (dist, offset) = Convolve(dist, offset, counts, p.Mask.Length);
        }
        return Tail(dist, offset, observed);
    }

    /// <summary>
    /// For each overlap value t, how many of the L offsets give it (counts[t]); null when the protein cannot contribute
    /// (no active residue or no concept residue). Built in O(active x concept runs + L) with a difference array: an
    /// active residue a lands in the concept run [c1, c2] exactly for offsets s in [c1 - a, c2 - a] (mod L).
    /// </summary>
    private static int[]? OverlapCounts(bool[] mask, int[] concept, out int observed)
    {
        observed = 0;
        var length = mask.Length;
        if (length == 0 || concept.Length == 0) return null;
        var active = 0;
        foreach (var m in mask) if (m) active++;
        if (active == 0) return null;

        var runs = new List<(int Start, int End)>();
        for (var i = 0; i < concept.Length; i++)
        {
            if (runs.Count > 0 && concept[i] == runs[^1].End + 1) runs[^1] = (runs[^1].Start, concept[i]);
            else runs.Add((concept[i], concept[i]));
        }
        var diff = new int[length + 1];
        void Add(int from, int to)   // +1 on the circular interval of offsets [from, to], both already in [0, L)
        {
            if (from <= to) { diff[from]++; diff[to + 1]--; }
            else { diff[from]++; diff[length]--; diff[0]++; diff[to + 1]--; }
        }
        for (var a = 0; a < length; a++)
        {
            if (!mask[a]) continue;
            foreach (var (c1, c2) in runs)
            {
                if (c2 - c1 + 1 >= length) { diff[0]++; diff[length]--; continue; }
                Add(((c1 - a) % length + length) % length, ((c2 - a) % length + length) % length);
            }
        }
        var counts = new int[Math.Min(active, concept.Length) + 1];
        var overlap = 0;
        for (var s = 0; s < length; s++)
        {
            overlap += diff[s];
            if (s == 0) observed = overlap;
            counts[overlap]++;
        }
        return counts;
    }

    internal static (double[] Dist, int Offset) Convolve(double[] dist, int offset, int[] counts, int length) =>
        Convolve(dist, offset, [.. counts.Select(c => (double)c / length)]);

    /// <summary>The distribution of the sum of two independent counts: <paramref name="dist"/> (from <paramref name="offset"/>) and <paramref name="probabilities"/> (from 0).</summary>
    internal static (double[] Dist, int Offset) Convolve(double[] dist, int offset, double[] probabilities)
    {
        var lo = 0;
        while (lo < probabilities.Length - 1 && probabilities[lo] == 0) lo++;
        var hi = probabilities.Length - 1;
        while (hi > lo && probabilities[hi] == 0) hi--;
        var result = new double[dist.Length + hi - lo];
        for (var t = lo; t <= hi; t++)
        {
            var w = probabilities[t];
            if (w == 0) continue;
            for (var i = 0; i < dist.Length; i++) result[i + t - lo] += dist[i] * w;
        }
        return (result, offset + lo);
    }

    /// <summary>P(X &gt;= observed) for a distribution over [offset, offset + dist.Length).</summary>
    internal static double Tail(double[] dist, int offset, int observed)
    {
        var from = observed - offset;
        if (from <= 0) return 1.0;
        if (from >= dist.Length) return 0.0;
        var tail = 0.0;
        for (var t = dist.Length - 1; t >= from; t--) tail += dist[t];   // smallest terms first
        return Math.Clamp(tail, 0.0, 1.0);
    }
}

/// <summary>
/// The second null hypothesis of the residue-level test: the feature fires on residues because of what they are, not
/// where they are. Within each protein and each amino acid, which residues are active is shuffled (the number of
/// active residues per amino acid and protein is kept), so a feature that fires on every cysteine does not thereby
/// look like a disulfide-bond feature, nor one that fires on hydrophobic residues like a transmembrane one. Per protein
/// and amino acid the overlap is hypergeometric (n residues of that amino acid, c of them in the concept, k active);
/// the exact distribution of the total is their convolution.
/// </summary>
public static class ResidueMatchedTest
{
    /// <summary>P(sum of shuffled overlaps &gt;= the observed one).</summary>
    public static double UpperTail(IEnumerable<RotationTest.Protein> proteins)
    {
        var observed = 0;
        double[] dist = [1.0];
        var offset = 0;
        foreach (var p in proteins)
        {
            var inConcept = new bool[p.Mask.Length];
            foreach (var c in p.ConceptResidues) inConcept[c] = true;
            // Per amino acid: residues, residues in the concept, active residues (one class when the sequence does not fit).
            var classes = new Dictionary<char, (int N, int C, int K)>();
            for (var i = 0; i < p.Mask.Length; i++)
            {
                var aa = p.Sequence.Length == p.Mask.Length ? p.Sequence[i] : '*';
                var (n, c, k) = classes.GetValueOrDefault(aa);
                classes[aa] = (n + 1, c + (inConcept[i] ? 1 : 0), k + (p.Mask[i] ? 1 : 0));
                if (inConcept[i] && p.Mask[i]) observed++;
            }
            foreach (var (n, c, k) in classes.Values)
                if (c > 0 && k > 0) (dist, offset) = RotationTest.Convolve(dist, offset, Pmf(n, c, k));   // else the overlap is 0
        }
        return RotationTest.Tail(dist, offset, observed);
    }

    /// <summary>P(X = x) for x in 0..min(c, k): x of the k active residues among the c concept residues of n.</summary>
    private static double[] Pmf(int n, int c, int k)
    {
        var pmf = new double[Math.Min(c, k) + 1];
        var denominator = Hypergeometric.LogChoose(n, k);
        for (var x = Math.Max(0, k - (n - c)); x < pmf.Length; x++)
            pmf[x] = Math.Exp(Hypergeometric.LogChoose(c, x) + Hypergeometric.LogChoose(n - c, k - x) - denominator);
        return pmf;
    }
}
