using System.Globalization;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Output;

namespace EsmcFeaturePlatform.Agents;

/// <summary>
/// Describes a feature from annotation enrichment and residue statistics alone, so the platform is
/// useful with no language model configured. Says so in its source (<see cref="DescriptionSource.Evidence"/>)
/// and in the text; never scored, since its scorer would have to be a model.
/// </summary>
public sealed class EvidenceOnlyDescriber(EvidenceSettings? settings = null) : IFeatureDescriber
{
    public const string AuthorName = "evidence-only";

    private readonly EvidenceSettings _settings = settings ?? new EvidenceSettings();

    public bool UsesLanguageModel => false;

    public Task<DescriptionResult> DescribeAsync(FeatureEvidence evidence, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ct.ThrowIfCancellationRequested();
        EvidenceAnalysis analysis;
        try
        {
            analysis = EvidenceAnalysis.Build(evidence, _settings);
        }
        catch (ArgumentException ex)
        {
            return Task.FromResult(new DescriptionResult(null, DescriptionSource.Evidence, AuthorName, null, null, ex.Message, 0, 0));
        }
        if (analysis.Activating.Count == 0)
            return Task.FromResult(new DescriptionResult(null, DescriptionSource.Evidence, AuthorName, null, null,
                "no activating examples: nothing to describe", 0, 0));
        var output = Describe(analysis);
        var problems = DescriberOutputSchema.Validate(output);
        // The rules are the model's rules too; failing them here is a bug worth surfacing, not storing.
        return Task.FromResult(problems.Count == 0
            ? new DescriptionResult(output, DescriptionSource.Evidence, AuthorName, null, null, null, 0, 0)
            : new DescriptionResult(null, DescriptionSource.Evidence, AuthorName, null, null, "evidence-only output failed validation: " + string.Join("; ", problems), 0, 0));
    }

    /// <summary>Decoder cosine above which a neighbour is mentioned (random directions in d = 2560 sit near 0).</summary>
    public const double CloseNeighbourCosine = 0.5;

    public static DescriberOutput Describe(EvidenceAnalysis a)
    {
        static string P(double d) => d.ToString("0.00", CultureInfo.InvariantCulture);
        var cited = new List<string>();
        var sentences = new List<string>();
        var pattern = a.Pattern;
        sentences.Add(PatternSentence(pattern));
        cited.Add($"activation pattern {pattern.Pattern}: {pattern.Reason}");

        var best = a.Enrichment.Significant.Where(c => c.F1 >= 0.2).ToList();
        var residueConcept = best.FirstOrDefault(c => c.Level == "residue");
        var keywordConcept = best.FirstOrDefault(c => c.Level == "keyword");
        string label;
        double confidence;
        if (residueConcept is not null)
        {
            label = ConceptName(residueConcept.Concept);
            confidence = residueConcept.F1;
            sentences.Add($"Its active residues fall in UniProt {residueConcept.Concept} annotations (precision {P(residueConcept.Precision)}, recall {P(residueConcept.Recall)}, F1 {P(residueConcept.F1)}, {residueConcept.FoldEnrichment.ToString("0.0", CultureInfo.InvariantCulture)}-fold over chance).");
            cited.Add($"{residueConcept.Concept} F1 {P(residueConcept.F1)} (p {residueConcept.AdjustedPValue.ToString("0.0e+0", CultureInfo.InvariantCulture)})");
        }
        else if (keywordConcept is not null)
        {
            label = Words($"{keywordConcept.Concept} proteins");
            confidence = keywordConcept.F1 * 0.8;
            cited.Add($"keyword {keywordConcept.Concept} F1 {P(keywordConcept.F1)} (p {keywordConcept.AdjustedPValue.ToString("0.0e+0", CultureInfo.InvariantCulture)})");
        }
        else
        {
            label = CompositionLabel(a);
            confidence = label.StartsWith("Unexplained", StringComparison.Ordinal) ? 0.05 : 0.2;
        }
        if (keywordConcept is not null)
            sentences.Add($"Activating proteins are enriched for the UniProt keyword '{keywordConcept.Concept}' (precision {P(keywordConcept.Precision)}, recall {P(keywordConcept.Recall)}).");

        var enriched = a.Residues.Enriched.Take(3).ToList();
        if (enriched.Count > 0)
        {
            sentences.Add("Active residues are enriched in " + string.Join(", ", enriched.Select(e => $"{Name(e.Residue)} ({(e.ActiveFraction * 100).ToString("0", CultureInfo.InvariantCulture)}% vs {(e.BackgroundFraction * 100).ToString("0", CultureInfo.InvariantCulture)}%)")) + ".");
            cited.Add("composition: " + string.Join(", ", enriched.Select(e => $"{e.Residue} log2 {P(e.Log2Enrichment)}")));
        }
        if (a.Residues.PeakResidues.FirstOrDefault() is { } peak && peak.ActiveFraction >= 0.5 && a.Activating.Count >= 3)
        {
            sentences.Add($"The peak residue is {Name(peak.Residue)} in {peak.ActiveCount} of {a.Activating.Count} examples.");
            cited.Add($"peak residue {peak.Residue} in {peak.ActiveCount}/{a.Activating.Count} examples");
        }
        if (a.Residues.Motifs.FirstOrDefault() is { } motif && motif.Proteins >= Math.Max(2, a.Activating.Count / 3))
        {
            sentences.Add($"The motif {motif.Motif} recurs in active stretches of {motif.Proteins} proteins.");
            cited.Add($"motif {motif.Motif} in {motif.Proteins} proteins");
        }
        // A labelled feature writing in nearly the same direction is a hint worth passing on, never the label itself:
        // decoder similarity says the two features have similar effects, not that they detect the same thing.
        if (a.Evidence.NearestFeatures.Where(n => n.Label is not null && n.DecoderCosine >= CloseNeighbourCosine).MaxBy(n => n.DecoderCosine) is { } neighbour)
        {
            sentences.Add($"Its decoder direction is close to feature {neighbour.Index} ('{neighbour.Label}', cosine {P(neighbour.DecoderCosine)}).");
            cited.Add($"decoder neighbour {neighbour.Index} cosine {P(neighbour.DecoderCosine)}");
        }
        sentences.Add("Written from annotation enrichment and residue statistics only; no language model was used.");
        return new DescriberOutput(label, string.Join(" ", sentences), pattern.Pattern, Math.Round(Math.Clamp(confidence, 0, 1), 2), cited);
    }

    private static string PatternSentence(PatternReport p) => p.Pattern switch
    {
        ActivationPatterns.Whole => "Fires across most of each protein it is active in.",
        ActivationPatterns.Point => "Fires on one or two isolated residues per protein.",
        ActivationPatterns.Periodic => $"Fires on short runs repeating about every {(p.Period ?? 0).ToString("0.#", CultureInfo.InvariantCulture)} residues.",
        _ => $"Fires on contiguous stretches of about {p.MedianRunLength.ToString("0", CultureInfo.InvariantCulture)} residues.",
    };

    private static string CompositionLabel(EvidenceAnalysis a)
    {
        if (a.Residues.PeakResidues.FirstOrDefault() is { } peak && peak.ActiveFraction >= 0.5 && a.Pattern.Pattern == ActivationPatterns.Point)
            return $"{Name(peak.Residue)} residues";
        var enriched = a.Residues.Enriched.Take(2).Select(e => Name(e.Residue)).ToList();
        if (enriched.Count > 0)
            return $"{string.Join("/", enriched)}-rich {(a.Pattern.Pattern == ActivationPatterns.Whole ? "proteins" : "stretches")}";
        return $"Unexplained {a.Pattern.Pattern} feature";
    }

    private static readonly Dictionary<string, string> TypeNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["TRANSMEM"] = "Transmembrane segment", ["INTRAMEM"] = "Intramembrane segment", ["SIGNAL"] = "Signal peptide",
        ["TRANSIT"] = "Transit peptide", ["PROPEP"] = "Propeptide", ["PEPTIDE"] = "Active peptide", ["HELIX"] = "Alpha helix",
        ["STRAND"] = "Beta strand", ["TURN"] = "Turn", ["DISULFID"] = "Disulfide-bonded cysteine", ["METAL"] = "Metal-binding site",
        ["BINDING"] = "Binding site", ["ACT_SITE"] = "Active site", ["SITE"] = "Functional site", ["MOD_RES"] = "Modified residue",
        ["CARBOHYD"] = "Glycosylation site", ["LIPID"] = "Lipidation site", ["CROSSLNK"] = "Cross-linked residue",
        ["DOMAIN"] = "Annotated domain", ["REPEAT"] = "Repeat", ["ZN_FING"] = "Zinc finger", ["DNA_BIND"] = "DNA-binding region",
        ["NP_BIND"] = "Nucleotide-binding region", ["COILED"] = "Coiled coil", ["COMPBIAS"] = "Compositionally biased region",
        ["MOTIF"] = "Short motif", ["REGION"] = "Annotated region", ["TOPO_DOM"] = "Topological domain", ["CHAIN"] = "Mature chain",
        ["INIT_MET"] = "Initiator methionine",
    };

    private static readonly Dictionary<string, string> NamedSuffix = new(StringComparer.OrdinalIgnoreCase)
    {
        ["DOMAIN"] = "domain", ["REPEAT"] = "repeat", ["ZN_FING"] = "zinc finger", ["MOTIF"] = "motif", ["REGION"] = "region",
        ["COMPBIAS"] = "region", ["DNA_BIND"] = "DNA-binding region", ["TOPO_DOM"] = "domain", ["NP_BIND"] = "binding region",
        ["METAL"] = "binding site", ["BINDING"] = "binding site", ["ACT_SITE"] = "active site", ["LIPID"] = "lipidation",
        ["MOD_RES"] = "modification", ["CARBOHYD"] = "glycosylation",
    };

    /// <summary>"DOMAIN: Protein kinase" becomes "Protein kinase domain"; "TRANSMEM" becomes "Transmembrane segment".</summary>
    public static string ConceptName(string concept)
    {
        var colon = concept.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0)
        {
            var type = concept[..colon];
            var note = concept[(colon + 2)..];
            var suffix = NamedSuffix.GetValueOrDefault(type, "");
            return Words(note.Contains(suffix, StringComparison.OrdinalIgnoreCase) ? note : $"{note} {suffix}".Trim());
        }
        return TypeNames.TryGetValue(concept, out var name) ? name : Words(concept.Replace('_', ' ').ToLowerInvariant());
    }

    private static string Words(string s)
    {
        var words = s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var joined = string.Join(' ', words.Take(DescriberOutputSchema.MaxLabelWords));
        if (joined.Length > 80) joined = joined[..80].TrimEnd();
        return joined.Length > 0 ? char.ToUpperInvariant(joined[0]) + joined[1..] : "Unnamed feature";
    }

    private static string Name(char residue) => residue switch
    {
        'A' => "Ala", 'C' => "Cys", 'D' => "Asp", 'E' => "Glu", 'F' => "Phe", 'G' => "Gly", 'H' => "His", 'I' => "Ile",
        'K' => "Lys", 'L' => "Leu", 'M' => "Met", 'N' => "Asn", 'P' => "Pro", 'Q' => "Gln", 'R' => "Arg", 'S' => "Ser",
        'T' => "Thr", 'V' => "Val", 'W' => "Trp", 'Y' => "Tyr", _ => residue.ToString(),
    };
}
