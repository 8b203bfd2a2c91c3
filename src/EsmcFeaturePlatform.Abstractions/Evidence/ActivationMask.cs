namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>
/// Which residues of an example count as active: those above a threshold times the example's own peak, so that
/// weak (low-quantile) examples still show where they fire. Shared by the agent's evidence and the API's enrichment.
/// </summary>
public static class ActivationMask
{
    /// <summary>Per residue, whether its activation is above <paramref name="threshold"/> times the example's own peak.</summary>
    public static bool[] Of(ActivationExample example, double threshold)
    {
        var acts = example.Activations;
        var mask = new bool[acts.Length];
        var peak = PeakOf(example);
        if (!(peak > 0)) return mask;
        var cut = threshold * peak;
        for (var i = 0; i < acts.Length; i++) mask[i] = acts[i] > 0 && acts[i] > cut;
        // The peak itself is always active even when the threshold is 1 or rounding pushes it under.
        var p = PeakIndex(example);
        if (p >= 0) mask[p] = true;
        return mask;
    }

    /// <summary>The example's largest activation (0 when it never fired).</summary>
    public static float PeakOf(ActivationExample example)
    {
        var max = 0f;
        foreach (var a in example.Activations) if (a > max) max = a;
        return Math.Max(max, example.Activations.Length == 0 ? example.MaxValue : 0f);
    }

    /// <summary>0-based index of the peak: the declared 1-based position when it fits, else the first maximum.</summary>
    public static int PeakIndex(ActivationExample example)
    {
        var acts = example.Activations;
        if (acts.Length == 0) return -1;
        if (example.Position >= 1 && example.Position <= acts.Length && acts[example.Position - 1] >= PeakOf(example)) return example.Position - 1;
        var best = 0;
        for (var i = 1; i < acts.Length; i++) if (acts[i] > acts[best]) best = i;
        return best;
    }

    /// <summary>How many residues of <paramref name="mask"/> are active.</summary>
    public static int Count(bool[] mask)
    {
        var n = 0;
        foreach (var m in mask) if (m) n++;
        return n;
    }
}
