using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;

namespace EsmcFeaturePlatform.Agents.Evidence;

/// <summary>Plain-text renderings of the evidence, shared by the prompt and the kernel functions.</summary>
public static class EvidenceText
{
    private static string F(double d, string format = "0.###") => d.ToString(format, CultureInfo.InvariantCulture);

    public static string Overview(EvidenceAnalysis a)
    {
        var sb = new StringBuilder();
        var key = a.Evidence.Feature;
        sb.Append(CultureInfo.InvariantCulture, $"Feature {key.Index} of SAE {key.SaeId}.");
        if (a.Evidence.Stats is { } s)
        {
            sb.Append(CultureInfo.InvariantCulture, $" Active in {s.DocumentCount} of {s.CorpusSize} corpus proteins");
            if (s.MaxActivation is float max) sb.Append(CultureInfo.InvariantCulture, $", max activation {F(max)}");
            sb.Append('.');
        }
        sb.Append(CultureInfo.InvariantCulture, $" Evidence: {a.Activating.Count} activating and {a.Evidence.NonActivatingExamples.Count} non-activating example proteins.");
        return sb.ToString();
    }

    public static string Examples(EvidenceAnalysis a, IEnumerable<AnnotatedExample> examples, int limit)
    {
        var sb = new StringBuilder();
        var n = 0;
        foreach (var e in examples)
        {
            if (n >= limit) break;
            sb.Append(++n).Append(". ").AppendLine(ActivationMarkup.FormatActivating(e, a.FeatureMax, a.Settings.ActiveThreshold, a.Settings.WindowRadius));
        }
        return n == 0 ? "(no examples)" : sb.ToString().TrimEnd();
    }

    public static string NonActivating(EvidenceAnalysis a, int limit)
    {
        var sb = new StringBuilder();
        var n = 0;
        foreach (var e in a.Evidence.NonActivatingExamples)
        {
            if (n >= limit) break;
            sb.Append(++n).Append(". ").AppendLine(ActivationMarkup.FormatNonActivating(e, a.Settings.WindowRadius));
        }
        return n == 0 ? "(no non-activating examples)" : sb.ToString().TrimEnd();
    }

    public static string Enrichment(EvidenceAnalysis a, int limit = 12)
    {
        var r = a.Enrichment;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"{r.ActiveResidues} active residues of {r.TotalResidues} in {r.ActivatingProteins} activating + {r.NonActivatingProteins} non-activating proteins.");
        sb.AppendLine("Residue-level UniProt features (precision = share of active residues inside the feature; recall = share of the feature's residues that are active):");
        Table(sb, r.Residue, limit);
        sb.AppendLine("Protein-level UniProt keywords (precision = share of proteins with the keyword that activate; recall = share of activating proteins with it):");
        Table(sb, r.Keywords, limit);
        return sb.ToString().TrimEnd();
    }

    private static void Table(StringBuilder sb, IReadOnlyList<ConceptEnrichment> rows, int limit)
    {
        if (rows.Count == 0) { sb.AppendLine("  (none overlap)"); return; }
        foreach (var c in rows.Take(limit))
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  {c.Concept}: precision {F(c.Precision, "0.00")}, recall {F(c.Recall, "0.00")}, F1 {F(c.F1, "0.00")}, fold {F(c.FoldEnrichment, "0.0")}, p {c.AdjustedPValue:0.0e+0}{(c.Significant ? " (significant)" : "")}");
    }

    public static string Residues(EvidenceAnalysis a)
    {
        var r = a.Residues;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{r.ActiveResidues} active of {r.TotalResidues} residues in activating proteins.");
        sb.AppendLine("Composition of active residues vs all residues of these proteins (log2 enrichment):");
        foreach (var c in r.Composition.Where(c => c.ActiveCount > 0).Take(8))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {c.Residue}: {F(c.ActiveFraction * 100, "0.0")}% of active vs {F(c.BackgroundFraction * 100, "0.0")}% background, log2 {F(c.Log2Enrichment, "0.00")}");
        sb.AppendLine("Residue at each example's peak:");
        foreach (var c in r.PeakResidues.Take(5))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {c.Residue}: {c.ActiveCount} examples ({F(c.ActiveFraction * 100, "0")}%)");
        sb.AppendLine("Most shared 3-residue motifs in active stretches (occurrences, proteins, log2 enrichment):");
        if (r.Motifs.Count == 0) sb.AppendLine("  (none shared by two or more proteins)");
        foreach (var m in r.Motifs)
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {m.Motif}: {m.Occurrences}, {m.Proteins}, {F(m.Log2Enrichment, "0.00")}");
        return sb.ToString().TrimEnd();
    }

    public static string Pattern(EvidenceAnalysis a)
    {
        var p = a.Pattern;
        return string.Create(CultureInfo.InvariantCulture,
            $"Activation pattern: {p.Pattern} ({p.Reason}). Median active fraction {F(p.MedianActiveFraction * 100, "0.#")}%, median {F(p.MedianRuns, "0.#")} active runs per protein, median run length {F(p.MedianRunLength, "0.#")}{(p.Period is double d ? $", median spacing {F(d, "0.#")} residues" : "")}.");
    }

    public static string Neighbours(EvidenceAnalysis a)
    {
        var list = a.Evidence.NearestFeatures;
        if (list.Count == 0) return "(no neighbour information)";
        var sb = new StringBuilder();
        foreach (var n in list.OrderByDescending(n => n.DecoderCosine).Take(10))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  feature {n.Index}: decoder cosine {F(n.DecoderCosine, "0.000")}, label: {n.Label ?? "(not described yet)"}");
        return sb.ToString().TrimEnd();
    }
}
