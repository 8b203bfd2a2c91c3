namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// Indexing's <c>onOverLong: WINDOW</c>: a protein longer than the encoder's limit is encoded as overlapping windows
/// of the longest length the encoder accepts, and each residue takes its features from ONE window, the one in which it
/// has the most context (farthest from a cut made by the windowing; the protein's own ends are not cuts). Rows are
/// never mixed, so every residue still has one SAE top-k row. This is a departure from the reference, which never sees
/// more than the limit at once: residues near a cut see less context than they would in one pass.
/// </summary>
public static class LongSequenceWindows
{
    /// <summary>
    /// Windows (0-based start, length) covering <c>[0, length)</c>: one when it fits; else windows of
    /// <paramref name="maxResidues"/> every <c>maxResidues / 2</c> residues, the last one aligned with the end.
    /// </summary>
    public static (int Start, int Length)[] Plan(int length, int maxResidues)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResidues, 1);
        if (length <= maxResidues) return [(0, length)];
        var stride = Math.Max(1, maxResidues / 2);
        var windows = new List<(int, int)>();
        for (var start = 0; ; start += stride)
        {
            if (start + maxResidues >= length)
            {
                windows.Add((length - maxResidues, maxResidues));
                return [.. windows];
            }
            windows.Add((start, maxResidues));
        }
    }

    /// <summary>One encoded sequence of <paramref name="length"/> residues from the windows' encodings (in plan order).</summary>
    public static EncodedSequence Merge(string saeId, int length, (int Start, int Length)[] windows, IReadOnlyList<EncodedSequence> encoded)
    {
        if (encoded.Count != windows.Length)
            throw new ArgumentException($"{encoded.Count} encodings for {windows.Length} windows.", nameof(encoded));
        var rows = new FeatureActivation[length][];
        for (var r = 0; r < length; r++)
        {
            int best = -1, bestMargin = -1;
            for (var w = 0; w < windows.Length; w++)
            {
                var (start, size) = windows[w];
                if (r < start || r >= start + size) continue;
                var left = start == 0 ? int.MaxValue : r - start;
                var right = start + size == length ? int.MaxValue : start + size - 1 - r;
                var margin = Math.Min(left, right);
                if (margin > bestMargin) { best = w; bestMargin = margin; }
            }
            rows[r] = encoded[best].Residues[r - windows[best].Start];
        }
        return new EncodedSequence(saeId, length, rows, FeatureMath.Pool(rows), encoded.Sum(e => e.UnknownTokens));
    }
}
