using System.Text.RegularExpressions;

namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>How UniProt feature-table entries become concepts whose overlap with active residues is tested.</summary>
public static partial class AnnotationConcepts
{
    // Sequence-variation and bookkeeping entries describe the record, not the protein's biology.
    private static readonly HashSet<string> Noise = new(StringComparer.OrdinalIgnoreCase)
    {
        "VARIANT", "CONFLICT", "VAR_SEQ", "MUTAGEN", "NON_TER", "NON_CONS", "UNSURE", "NON_STD",
    };

    // For these, the note names the thing (a Pfam-like domain, a repeat family), so it is a concept of its own.
    private static readonly HashSet<string> NamedTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "DOMAIN", "REGION", "MOTIF", "REPEAT", "ZN_FING", "COMPBIAS", "DNA_BIND", "TOPO_DOM", "NP_BIND", "METAL", "BINDING", "ACT_SITE", "LIPID", "MOD_RES", "CARBOHYD",
    };

    // Bonds are between their two end residues, not along the span between them.
    private static readonly HashSet<string> PairTypes = new(StringComparer.OrdinalIgnoreCase) { "DISULFID", "CROSSLNK" };

    // Keywords about the entry or the proteome, not the protein.
    private static readonly HashSet<string> NoiseKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "Complete proteome", "Reference proteome", "3D-structure", "Direct protein sequencing", "Polymorphism",
    };

    /// <summary>True for UniProt feature types that say nothing about function (e.g. sequence conflicts), left out of enrichment.</summary>
    public static bool IsNoise(string type) => Noise.Contains(type);

    /// <summary>True for UniProt keywords that describe the entry rather than the protein (e.g. "Reference proteome"), left out of enrichment.</summary>
    public static bool IsNoiseKeyword(string keyword) => NoiseKeywords.Contains(keyword.Trim().TrimEnd('.'));

    /// <summary>1-based residues an annotation covers.</summary>
    public static IEnumerable<int> Residues(ResidueAnnotation a)
    {
        if (a.Start < 1 || a.End < a.Start) yield break;
        if (PairTypes.Contains(a.Type))
        {
            yield return a.Start;
            if (a.End != a.Start) yield return a.End;
            yield break;
        }
        for (var p = a.Start; p <= a.End; p++) yield return p;
    }

    /// <summary>The concepts an annotation belongs to: its type, and for named types also type plus note.</summary>
    public static IEnumerable<string> ConceptsOf(ResidueAnnotation a)
    {
        if (IsNoise(a.Type)) yield break;
        var type = a.Type.ToUpperInvariant();
        yield return type;
        if (NamedTypes.Contains(type))
        {
            var note = CleanNote(a.Note);
            if (!string.IsNullOrEmpty(note)) yield return $"{type}: {note}";
        }
    }

    /// <summary>Drops evidence tags, isoform details and numbering so that "Ig-like 1" and "Ig-like 2" are one concept.</summary>
    public static string CleanNote(string? note)
    {
        if (string.IsNullOrWhiteSpace(note)) return "";
        var s = EvidenceTag().Replace(note, "");
        s = s.Split(';')[0].Trim().TrimEnd('.').Trim();
        s = TrailingNumber().Replace(s, "");
        return s.Length > 80 ? s[..80] : s;
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex EvidenceTag();

    [GeneratedRegex(@"\s+\d+$")]
    private static partial Regex TrailingNumber();
}
