namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>
/// One concept's overlap with the feature. At residue level, precision is the share of active
/// residues inside the concept and recall the share of the concept's residues that are active
/// (InterPLM's concept F1); at protein level (keywords) the same over proteins.
/// </summary>
public sealed record ConceptEnrichment(
    string Concept,
    string Level,
    int TruePositives,
    int FalsePositives,
    int FalseNegatives,
    double Precision,
    double Recall,
    double F1,
    double FoldEnrichment,
    double PValue,
    double AdjustedPValue)
{
    /// <summary>Overlap beyond chance after Bonferroni correction over every concept tested.</summary>
    public bool Significant => AdjustedPValue < 0.05 && FoldEnrichment > 1;
}

public sealed record EnrichmentReport(int ActiveResidues, int TotalResidues, int ActivatingProteins, int NonActivatingProteins,
    IReadOnlyList<ConceptEnrichment> Residue, IReadOnlyList<ConceptEnrichment> Keywords)
{
    /// <summary>The significant concepts of both levels, best F1 first.</summary>
    public IEnumerable<ConceptEnrichment> Significant =>
        Residue.Concat(Keywords).Where(c => c.Significant).OrderByDescending(c => c.F1).ThenBy(c => c.PValue);
}

public static class AnnotationEnrichment
{
    /// <summary>Active residues are those above this share of the example's own peak (delphi's 0.3 x max highlights).</summary>
    public const double DefaultActiveThreshold = 0.3;

    /// <summary>An example with its indexed protein's UniProt feature table and keywords (both empty when the protein has none, e.g. FASTA).</summary>
    public static AnnotatedExample Annotate(ActivationExample example, Grains.IndexedProtein? protein) => new(
        example,
        protein is null ? [] : [.. protein.Annotations.Select(a => new ResidueAnnotation(a.Type, a.Start, a.End, a.Note))],
        protein?.Keywords ?? []);

    public static EnrichmentReport Compute(IReadOnlyList<AnnotatedExample> activating, IReadOnlyList<AnnotatedExample> nonActivating, double threshold)
    {
        var active = 0;
        var total = 0;
        // Per concept: residues annotated, and annotated residues that are active.
        var annotated = new Dictionary<string, int>(StringComparer.Ordinal);
        var overlap = new Dictionary<string, int>(StringComparer.Ordinal);
        var covered = new HashSet<string>(StringComparer.Ordinal);

        void Count(AnnotatedExample ex, bool[] mask)
        {
            var len = mask.Length;
            total += len;
            active += ActivationMask.Count(mask);
            // A concept may be annotated twice over the same residue (overlapping entries): count residues once.
            var perConcept = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
            foreach (var a in ex.Annotations)
            {
                foreach (var concept in AnnotationConcepts.ConceptsOf(a))
                {
                    if (!perConcept.TryGetValue(concept, out var set)) perConcept[concept] = set = [];
                    foreach (var p in AnnotationConcepts.Residues(a)) if (p <= len) set.Add(p);
                }
            }
            foreach (var (concept, set) in perConcept)
            {
                annotated[concept] = annotated.GetValueOrDefault(concept) + set.Count;
                var hits = 0;
                foreach (var p in set) if (mask[p - 1]) hits++;
                overlap[concept] = overlap.GetValueOrDefault(concept) + hits;
                if (hits > 0) covered.Add(concept);
            }
        }

        foreach (var ex in activating) Count(ex, ActivationMask.Of(ex.Example, threshold));
        foreach (var ex in nonActivating) Count(ex, new bool[ex.Example.Activations.Length == 0 ? ex.Example.Sequence.Length : ex.Example.Activations.Length]);

        var residue = new List<ConceptEnrichment>();
        // Only concepts that touch an active residue can be enriched; the correction still counts all tested.
        var tested = annotated.Count;
        foreach (var concept in covered)
        {
            var tp = overlap[concept];
            var k = annotated[concept];
            residue.Add(Make(concept, "residue", tp, active - tp, k - tp, total, k, active, tested));
        }

        var proteinsWith = new Dictionary<string, (int Act, int Non)>(StringComparer.OrdinalIgnoreCase);
        foreach (var ex in activating)
            foreach (var kw in ex.Keywords.Where(k => !AnnotationConcepts.IsNoiseKeyword(k)).Distinct(StringComparer.OrdinalIgnoreCase))
                proteinsWith[kw] = (proteinsWith.GetValueOrDefault(kw).Act + 1, proteinsWith.GetValueOrDefault(kw).Non);
        foreach (var ex in nonActivating)
            foreach (var kw in ex.Keywords.Where(k => !AnnotationConcepts.IsNoiseKeyword(k)).Distinct(StringComparer.OrdinalIgnoreCase))
                proteinsWith[kw] = (proteinsWith.GetValueOrDefault(kw).Act, proteinsWith.GetValueOrDefault(kw).Non + 1);
        var proteins = activating.Count + nonActivating.Count;
        var keywords = new List<ConceptEnrichment>();
        foreach (var (kw, (act, non)) in proteinsWith)
        {
            if (act == 0) continue;
            keywords.Add(Make(kw, "keyword", act, non, activating.Count - act, proteins, act + non, activating.Count, proteinsWith.Count));
        }

        static IOrderedEnumerable<ConceptEnrichment> Order(List<ConceptEnrichment> l) =>
            l.OrderByDescending(c => c.Significant).ThenByDescending(c => c.F1).ThenBy(c => c.PValue).ThenBy(c => c.Concept, StringComparer.Ordinal);
        return new EnrichmentReport(active, total, activating.Count, nonActivating.Count, [.. Order(residue)], [.. Order(keywords)]);
    }

    private static ConceptEnrichment Make(string concept, string level, int tp, int fp, int fn, int population, int marked, int drawn, int tested)
    {
        var precision = tp + fp > 0 ? (double)tp / (tp + fp) : 0;
        var recall = tp + fn > 0 ? (double)tp / (tp + fn) : 0;
        var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        var background = population > 0 ? (double)marked / population : 0;
        var fold = background > 0 ? precision / background : 0;
        var p = Hypergeometric.UpperTail(population, marked, drawn, tp);
        return new ConceptEnrichment(concept, level, tp, fp, fn, precision, recall, f1, fold, p, Math.Min(1.0, p * Math.Max(1, tested)));
    }
}
