using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Agents.Evidence;

public sealed record ResidueEnrichment(char Residue, int ActiveCount, double ActiveFraction, double BackgroundFraction, double Log2Enrichment);

public sealed record MotifCount(string Motif, int Occurrences, int Proteins, double Log2Enrichment);

/// <summary>What the active residues are made of, compared with all residues of the same proteins.</summary>
public sealed record ResidueReport(
    int ActiveResidues,
    int TotalResidues,
    IReadOnlyList<ResidueEnrichment> Composition,
    IReadOnlyList<ResidueEnrichment> PeakResidues,
    IReadOnlyList<MotifCount> Motifs)
{
    public IEnumerable<ResidueEnrichment> Enriched => Composition.Where(c => c.Log2Enrichment > 0.5 && c.ActiveCount >= 3);
}

public static class ResidueStatistics
{
    private const string Alphabet = "ACDEFGHIKLMNPQRSTVWY";

    public static ResidueReport Compute(IReadOnlyList<AnnotatedExample> activating, double threshold, int motifLength = 3)
    {
        var activeCounts = new int[26];
        var allCounts = new int[26];
        var peakCounts = new int[26];
        var active = 0;
        var total = 0;
        var peaks = 0;
        var motifOcc = new Dictionary<string, int>(StringComparer.Ordinal);
        var motifProteins = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        var backgroundKmers = new Dictionary<string, int>(StringComparer.Ordinal);
        var backgroundTotal = 0;

        for (var e = 0; e < activating.Count; e++)
        {
            var ex = activating[e].Example;
            var seq = ex.Sequence;
            var mask = ActivationMarkup.ActiveMask(ex, threshold);
            var len = Math.Min(seq.Length, mask.Length);
            for (var i = 0; i < len; i++)
            {
                var c = Slot(seq[i]);
                if (c < 0) continue;
                allCounts[c]++;
                total++;
                if (mask[i]) { activeCounts[c]++; active++; }
            }
            var peak = ActivationMarkup.PeakIndex(ex);
            if (peak >= 0 && peak < len && Slot(seq[peak]) is var ps and >= 0) { peakCounts[ps]++; peaks++; }

            for (var i = 0; i + motifLength <= len; i++)
            {
                var kmer = seq.Substring(i, motifLength);
                backgroundKmers[kmer] = backgroundKmers.GetValueOrDefault(kmer) + 1;
                backgroundTotal++;
                // A k-mer belongs to the active pattern when most of it is active.
                var a = 0;
                for (var j = i; j < i + motifLength; j++) if (mask[j]) a++;
                if (2 * a <= motifLength) continue;
                motifOcc[kmer] = motifOcc.GetValueOrDefault(kmer) + 1;
                if (!motifProteins.TryGetValue(kmer, out var set)) motifProteins[kmer] = set = [];
                set.Add(e);
            }
        }

        var composition = new List<ResidueEnrichment>();
        var peakList = new List<ResidueEnrichment>();
        foreach (var r in Alphabet)
        {
            var s = r - 'A';
            var bg = total > 0 ? (double)allCounts[s] / total : 0;
            if (allCounts[s] == 0) continue;
            var fa = active > 0 ? (double)activeCounts[s] / active : 0;
            // Pseudocounts keep a residue seen once from looking infinitely enriched.
            var log2 = Math.Log2((activeCounts[s] + 0.5) / (active + 10.0) / ((allCounts[s] + 0.5) / (total + 10.0)));
            composition.Add(new ResidueEnrichment(r, activeCounts[s], fa, bg, log2));
            if (peakCounts[s] > 0)
            {
                var fp = (double)peakCounts[s] / peaks;
                peakList.Add(new ResidueEnrichment(r, peakCounts[s], fp, bg, Math.Log2((peakCounts[s] + 0.5) / (peaks + 10.0) / ((allCounts[s] + 0.5) / (total + 10.0)))));
            }
        }
        composition.Sort((a, b) => b.Log2Enrichment.CompareTo(a.Log2Enrichment));
        peakList.Sort((a, b) => b.ActiveCount != a.ActiveCount ? b.ActiveCount.CompareTo(a.ActiveCount) : a.Residue.CompareTo(b.Residue));

        var activeKmerTotal = motifOcc.Values.Sum();
        var motifs = motifOcc
            .Where(kv => motifProteins[kv.Key].Count >= 2)
            .Select(kv => new MotifCount(kv.Key, kv.Value, motifProteins[kv.Key].Count,
                Math.Log2((kv.Value + 0.5) / (activeKmerTotal + 1.0) / ((backgroundKmers[kv.Key] + 0.5) / (backgroundTotal + 1.0)))))
            .Where(m => m.Log2Enrichment > 0)
            .OrderByDescending(m => m.Proteins).ThenByDescending(m => m.Log2Enrichment).ThenBy(m => m.Motif, StringComparer.Ordinal)
            .Take(10)
            .ToList();

        return new ResidueReport(active, total, composition, peakList, motifs);
    }

    private static int Slot(char c)
    {
        var u = char.ToUpperInvariant(c);
        return u is >= 'A' and <= 'Z' ? u - 'A' : -1;
    }
}
