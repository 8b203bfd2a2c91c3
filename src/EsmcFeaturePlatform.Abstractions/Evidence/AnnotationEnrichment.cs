namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>
/// One concept's overlap with the feature. At residue level, precision is the share of active
/// residues inside the concept and recall the share of the concept's residues that are active
/// (InterPLM's concept F1), and the p-value is the larger of the protein-level rotation test (<see cref="RotationTest"/>)
/// and the residue-matched shuffle (<see cref="ResidueMatchedTest"/>);
/// at protein level (keywords) the same over proteins, with a hypergeometric test over proteins.
/// <see cref="AdjustedPValue"/> is Benjamini-Hochberg over the family the report was corrected with
/// (<see cref="EnrichmentFamily"/>).
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
    /// <summary>More overlap than expected, and it survives the false-discovery-rate correction over the whole family.</summary>
    public bool Significant => AdjustedPValue < EnrichmentFamily.FalseDiscoveryRate && FoldEnrichment > 1;
}

/// <summary>The enrichment of one feature's activating examples, at residue level and at keyword level.</summary>
/// <param name="ActiveResidues">Residues above the activation threshold, over all activating examples.</param>
/// <param name="TotalResidues">Residues of all activating examples.</param>
/// <param name="ActivatingProteins">Examples in which the feature fired.</param>
/// <param name="NonActivatingProteins">Examples in which it did not (the keyword-level background).</param>
/// <param name="Residue">Residue-level concepts (UniProt feature types and named sites), ranked.</param>
/// <param name="Keywords">Protein-level UniProt keywords, ranked.</param>
public sealed record EnrichmentReport(int ActiveResidues, int TotalResidues, int ActivatingProteins, int NonActivatingProteins,
    IReadOnlyList<ConceptEnrichment> Residue, IReadOnlyList<ConceptEnrichment> Keywords)
{
    /// <summary>The significant concepts of both levels, best F1 first.</summary>
    public IEnumerable<ConceptEnrichment> Significant =>
        Residue.Concat(Keywords).Where(c => c.Significant).OrderByDescending(c => c.F1).ThenBy(c => c.PValue);

    /// <summary>The same report corrected over another family (e.g. the SAE's): adjusted values and order change, nothing else.</summary>
    public EnrichmentReport AdjustedBy(EnrichmentFamily family) => this with
    {
        Residue = AnnotationEnrichment.Rank(Residue.Select(c => c with { AdjustedPValue = family.Adjust(c.PValue) })),
        Keywords = AnnotationEnrichment.Rank(Keywords.Select(c => c with { AdjustedPValue = family.Adjust(c.PValue) })),
    };
}

/// <summary>Which annotations a feature's active residues overlap more than chance: the statistics the agent's evidence and the API's <c>annotationEnrichment</c> share.</summary>
public static class AnnotationEnrichment
{
    /// <summary>Active residues are those above this share of the example's own peak (delphi's 0.3 x max highlights).</summary>
    public const double DefaultActiveThreshold = 0.3;

    /// <summary>An example with its indexed protein's UniProt feature table and keywords (both empty when the protein has none, e.g. FASTA).</summary>
    public static AnnotatedExample Annotate(ActivationExample example, Grains.IndexedProtein? protein) => new(
        example,
        protein is null ? [] : [.. protein.Annotations.Select(a => new ResidueAnnotation(a.Type, a.Start, a.End, a.Note))],
        protein?.Keywords ?? []);

    /// <summary>
    /// Residue-level and keyword-level enrichment of the activating examples' annotations. Residue level: a row for every
    /// concept annotated in a protein where the feature is active (each is a test, so each is in the family, also with
    /// no overlap). Corrected over <paramref name="family"/>, or over this report's own tests when none is given.
    /// </summary>
    public static EnrichmentReport Compute(IReadOnlyList<AnnotatedExample> activating, IReadOnlyList<AnnotatedExample> nonActivating, double threshold,
        EnrichmentFamily? family = null)
    {
        var active = 0;
        var total = 0;
        // Per concept: residues annotated, annotated residues that are active, and the proteins the rotation test uses.
        var annotated = new Dictionary<string, int>(StringComparer.Ordinal);
        var overlap = new Dictionary<string, int>(StringComparer.Ordinal);
        var perProtein = new Dictionary<string, List<RotationTest.Protein>>(StringComparer.Ordinal);

        void Count(AnnotatedExample ex, bool[] mask)
        {
            var len = mask.Length;
            total += len;
            var activeHere = ActivationMask.Count(mask);
            active += activeHere;
            // A concept may be annotated twice over the same residue (overlapping entries): count residues once.
            var perConcept = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
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
                if (activeHere == 0 || set.Count == 0) continue;
                if (!perProtein.TryGetValue(concept, out var list)) perProtein[concept] = list = [];
                list.Add(new RotationTest.Protein(mask, [.. set.Select(p => p - 1)], ex.Example.Sequence));
            }
        }

        foreach (var ex in activating) Count(ex, ActivationMask.Of(ex.Example, threshold));
        foreach (var ex in nonActivating) Count(ex, new bool[ex.Example.Activations.Length == 0 ? ex.Example.Sequence.Length : ex.Example.Activations.Length]);

        var residue = new List<ConceptEnrichment>();
        // A concept is tested where it meets active residues: only there can the rotation move the overlap.
        foreach (var (concept, proteins) in perProtein)
        {
            var tp = overlap[concept];
            var k = annotated[concept];
            // Both nulls must be rejected (an intersection-union test: the larger p-value): the overlap beats chance
            // placement of the feature's runs within each protein, and beats what the active amino acids alone explain.
            residue.Add(Make(concept, "residue", tp, active - tp, k - tp, total, k,
                Math.Max(RotationTest.UpperTail(proteins), ResidueMatchedTest.UpperTail(proteins))));
        }

        // Keywords are per protein: proteins are independent observations, so a hypergeometric test over proteins holds.
        var proteinsWith = new Dictionary<string, (int Act, int Non)>(StringComparer.OrdinalIgnoreCase);
        foreach (var ex in activating)
            foreach (var kw in ex.Keywords.Where(k => !AnnotationConcepts.IsNoiseKeyword(k)).Distinct(StringComparer.OrdinalIgnoreCase))
                proteinsWith[kw] = (proteinsWith.GetValueOrDefault(kw).Act + 1, proteinsWith.GetValueOrDefault(kw).Non);
        foreach (var ex in nonActivating)
            foreach (var kw in ex.Keywords.Where(k => !AnnotationConcepts.IsNoiseKeyword(k)).Distinct(StringComparer.OrdinalIgnoreCase))
                proteinsWith[kw] = (proteinsWith.GetValueOrDefault(kw).Act, proteinsWith.GetValueOrDefault(kw).Non + 1);
        var proteinCount = activating.Count + nonActivating.Count;
        var keywords = new List<ConceptEnrichment>();
        foreach (var (kw, (act, non)) in proteinsWith)
        {
            if (act == 0) continue;
            keywords.Add(Make(kw, "keyword", act, non, activating.Count - act, proteinCount, act + non,
                Hypergeometric.UpperTail(proteinCount, act + non, activating.Count, act)));
        }

        var report = new EnrichmentReport(active, total, activating.Count, nonActivating.Count, residue, keywords);
        return report.AdjustedBy(family ?? EnrichmentFamily.Of(residue.Concat(keywords).Select(c => c.PValue)));
    }

    /// <summary>The order rows are shown in: significant first, then by F1, p-value and name.</summary>
    public static IReadOnlyList<ConceptEnrichment> Rank(IEnumerable<ConceptEnrichment> rows) =>
        [.. rows.OrderByDescending(c => c.Significant).ThenByDescending(c => c.F1).ThenBy(c => c.PValue).ThenBy(c => c.Concept, StringComparer.Ordinal)];

    private static ConceptEnrichment Make(string concept, string level, int tp, int fp, int fn, int population, int marked, double p)
    {
        var precision = tp + fp > 0 ? (double)tp / (tp + fp) : 0;
        var recall = tp + fn > 0 ? (double)tp / (tp + fn) : 0;
        var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        var background = population > 0 ? (double)marked / population : 0;
        var fold = background > 0 ? precision / background : 0;
        return new ConceptEnrichment(concept, level, tp, fp, fn, precision, recall, f1, fold, p, p);
    }
}
