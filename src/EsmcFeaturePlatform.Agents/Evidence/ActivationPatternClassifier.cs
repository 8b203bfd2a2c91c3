using System.Globalization;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Agents.Evidence;

public static class ActivationPatterns
{
    public const string Point = "point";
    public const string Motif = "motif";
    public const string Periodic = "periodic";
    public const string Whole = "whole";

    public static readonly IReadOnlyList<string> All = [Point, Motif, Periodic, Whole];
}

/// <summary>The shape of activation across residues, with the medians that decided it.</summary>
public sealed record PatternReport(string Pattern, double MedianActiveFraction, double MedianRuns, double MedianRunLength, double? Period, string Reason);

/// <summary>
/// Classifies how a feature fires along a protein: a single residue or two (point), a contiguous
/// stretch (motif), a regular train of short runs (periodic, e.g. one face of a helix), or most of
/// the protein (whole). Medians over examples so one odd protein does not decide.
/// </summary>
public static class ActivationPatternClassifier
{
    public static PatternReport Classify(IReadOnlyList<AnnotatedExample> activating, double threshold)
    {
        if (activating.Count == 0) return new PatternReport(ActivationPatterns.Point, 0, 0, 0, null, "no activating examples");
        var fractions = new List<double>();
        var runsPer = new List<double>();
        var runLengths = new List<double>();
        var cvs = new List<double>();
        var gaps = new List<double>();
        foreach (var ex in activating)
        {
            var mask = ActivationMarkup.ActiveMask(ex.Example, threshold);
            if (mask.Length == 0) continue;
            var runs = Runs(mask);
            fractions.Add((double)ActivationMarkup.ActiveCount(mask) / mask.Length);
            runsPer.Add(runs.Count);
            runLengths.Add(Median(runs.Select(r => (double)r.Length)));
            if (runs.Count >= 3)
            {
                var g = new List<double>();
                for (var i = 1; i < runs.Count; i++) g.Add(runs[i].Start + runs[i].Length / 2.0 - (runs[i - 1].Start + runs[i - 1].Length / 2.0));
                var mean = g.Average();
                var sd = Math.Sqrt(g.Sum(x => (x - mean) * (x - mean)) / g.Count);
                cvs.Add(sd / mean);
                gaps.Add(Median(g));
            }
        }
        if (fractions.Count == 0) return new PatternReport(ActivationPatterns.Point, 0, 0, 0, null, "examples carry no per-residue activations");
        var frac = Median(fractions);
        var nRuns = Median(runsPer);
        var runLen = Median(runLengths);
        double? period = gaps.Count > 0 ? Median(gaps) : null;
        var regular = cvs.Count * 2 >= fractions.Count && Median(cvs) <= 0.35;
        string F(double d) => d.ToString("0.##", CultureInfo.InvariantCulture);

        if (frac >= 0.5)
            return new PatternReport(ActivationPatterns.Whole, frac, nRuns, runLen, period, $"median {F(frac * 100)}% of residues active");
        if (regular && runLen <= 4)
            return new PatternReport(ActivationPatterns.Periodic, frac, nRuns, runLen, period, $"runs of ~{F(runLen)} residues repeat every ~{F(period ?? 0)} residues");
        if (runLen <= 2 && nRuns <= 3)
            return new PatternReport(ActivationPatterns.Point, frac, nRuns, runLen, period, $"median {F(nRuns)} active run(s) of {F(runLen)} residue(s) per protein");
        return new PatternReport(ActivationPatterns.Motif, frac, nRuns, runLen, period, $"contiguous runs of ~{F(runLen)} residues, {F(nRuns)} per protein");
    }

    public static List<(int Start, int Length)> Runs(bool[] mask)
    {
        var runs = new List<(int, int)>();
        var i = 0;
        while (i < mask.Length)
        {
            if (!mask[i]) { i++; continue; }
            var s = i;
            while (i < mask.Length && mask[i]) i++;
            runs.Add((s, i - s));
        }
        return runs;
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        if (v.Length == 0) return 0;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
