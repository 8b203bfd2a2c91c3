using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;

namespace EsmcFeaturePlatform.Agents.Evidence;

/// <summary>
/// Which residues of an example count as active, and how examples are shown to a model: residues
/// in a window around the peak, active ones marked <c>[T:7]</c> with the activation scaled 0-10
/// against the feature's maximum (delphi's integer scale), the rest as bare letters.
/// </summary>
public static class ActivationMarkup
{
    /// <summary>Active residues: above <paramref name="threshold"/> times the example's own peak (<see cref="ActivationMask"/>).</summary>
    public static bool[] ActiveMask(ActivationExample example, double threshold) => ActivationMask.Of(example, threshold);

    public static float PeakOf(ActivationExample example) => ActivationMask.PeakOf(example);

    /// <summary>0-based index of the peak: the declared 1-based position when it fits, else the first maximum.</summary>
    public static int PeakIndex(ActivationExample example) => ActivationMask.PeakIndex(example);

    /// <summary>Integer 0-10 of <paramref name="value"/> against <paramref name="featureMax"/>.</summary>
    public static int Scale(float value, double featureMax)
    {
        if (!(featureMax > 0) || !(value > 0)) return 0;
        return (int)Math.Clamp(Math.Round(10.0 * value / featureMax, MidpointRounding.AwayFromZero), 0, 10);
    }

    /// <summary>
    /// One line per example: id, strength, the window's residue range, the marked window, and the
    /// annotations that overlap the marked residues (the InterPLM/Biohub protein context).
    /// </summary>
    public static string FormatActivating(AnnotatedExample annotated, double featureMax, double threshold, int radius)
    {
        var ex = annotated.Example;
        var seq = ex.Sequence;
        var len = Math.Min(seq.Length, ex.Activations.Length);
        var mask = ActiveMask(ex, threshold);
        var peak = Math.Max(0, PeakIndex(ex));
        var start = Math.Max(0, peak - radius);
        var end = Math.Min(len - 1, peak + radius);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"{ex.SequenceId} (peak {Scale(PeakOf(ex), featureMax)}/10 at residue {peak + 1}{(seq.Length > 0 && peak < seq.Length ? " " + seq[peak] : "")}, length {seq.Length}, residues {start + 1}-{end + 1}): ");
        if (start > 0) sb.Append("... ");
        for (var i = start; i <= end; i++)
        {
            if (i > start) sb.Append(' ');
            if (mask[i]) sb.Append(CultureInfo.InvariantCulture, $"[{seq[i]}:{Scale(ex.Activations[i], featureMax)}]");
            else sb.Append(seq[i]);
        }
        if (end < len - 1) sb.Append(" ...");
        var active = ActiveCount(mask);
        if (active > end - start + 1) sb.Append(CultureInfo.InvariantCulture, $" ({active} active residues in the whole protein)");
        var overlapping = OverlappingAnnotations(annotated.Annotations, mask, start, end).ToList();
        if (overlapping.Count > 0) sb.Append(" | annotations at active residues: ").Append(string.Join("; ", overlapping));
        AppendKeywords(sb, annotated.Keywords);
        return sb.ToString();
    }

    /// <summary>A non-activating protein: a window from its start, with its keywords for contrast.</summary>
    public static string FormatNonActivating(AnnotatedExample annotated, int radius)
    {
        var ex = annotated.Example;
        var width = Math.Min(ex.Sequence.Length, 2 * radius + 1);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{ex.SequenceId} (length {ex.Sequence.Length}, residues 1-{width}): ");
        sb.Append(string.Join(' ', ex.Sequence.AsSpan(0, width).ToArray()));
        if (width < ex.Sequence.Length) sb.Append(" ...");
        AppendKeywords(sb, annotated.Keywords);
        return sb.ToString();
    }

    private static void AppendKeywords(StringBuilder sb, IReadOnlyList<string> keywords)
    {
        var shown = keywords.Where(k => !AnnotationConcepts.IsNoiseKeyword(k)).Take(12).ToList();
        if (shown.Count > 0) sb.Append(" | keywords: ").Append(string.Join(", ", shown));
    }

    public static int ActiveCount(bool[] mask) => ActivationMask.Count(mask);

    /// <summary>Annotations touching an active residue of the shown window (the Swiss-Prot context at the peak).</summary>
    private static IEnumerable<string> OverlappingAnnotations(IReadOnlyList<ResidueAnnotation> annotations, bool[] mask, int start, int end)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in annotations)
        {
            if (AnnotationConcepts.IsNoise(a.Type) || a.Type.Equals("CHAIN", StringComparison.OrdinalIgnoreCase)) continue;
            var hit = false;
            foreach (var pos in AnnotationConcepts.Residues(a))
                if (pos - 1 >= start && pos - 1 <= end && pos <= mask.Length && mask[pos - 1]) { hit = true; break; }
            if (!hit) continue;
            var note = AnnotationConcepts.CleanNote(a.Note);
            var text = string.IsNullOrEmpty(note)
                ? string.Create(CultureInfo.InvariantCulture, $"{a.Type} {a.Start}-{a.End}")
                : string.Create(CultureInfo.InvariantCulture, $"{a.Type} {a.Start}-{a.End} ({note})");
            if (seen.Add(text) && seen.Count <= 8) yield return text;
        }
    }
}
