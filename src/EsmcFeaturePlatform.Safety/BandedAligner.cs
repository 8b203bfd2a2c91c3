namespace EsmcFeaturePlatform.Safety;

/// <summary>
/// Smith-Waterman local alignment with affine gaps (Gotoh; BLOSUM62, gap open 11, extend 1: a gap of g residues
/// costs 11 + g), restricted to a band of diagonals around a seed, with a traceback that counts the best
/// alignment's columns and identities. Row i is query residue i; a cell's band index k is column j = i + d - w + k,
/// so the diagonal predecessor has the same k, the cell above k + 1 and the cell to the left k - 1.
/// </summary>
public static class BandedAligner
{
    public readonly record struct Result(int Score, int Columns, int Identities);

    private const int Negative = int.MinValue / 4;
    private const byte FromDiagonal = 1, FromLeftGap = 2, FromUpGap = 3, LeftExtends = 4, UpExtends = 8;

    /// <summary>Reusable rows and traceback (one per concurrent search).</summary>
    public sealed class Workspace
    {
        public int[] H = [], HPrevious = [], F = [], FPrevious = [];
        public byte[] Trace = [];

        /// <summary>After <see cref="Align"/>: 1 for each identical column of the best alignment, 0 otherwise (end to start).</summary>
        public byte[] Identical = [];

        public void Ensure(int width, int cells)
        {
            if (H.Length < width) { H = new int[width]; HPrevious = new int[width]; F = new int[width]; FPrevious = new int[width]; }
            if (Trace.Length < cells) Trace = new byte[Math.Max(cells, Trace.Length * 2)];
        }
    }

    /// <summary>Aligns <paramref name="query"/> with <paramref name="target"/> within diagonals <paramref name="diagonal"/> +- <paramref name="band"/> (j - i).</summary>
    public static Result Align(ReadOnlySpan<byte> query, ReadOnlySpan<byte> target, int diagonal, int band, Workspace workspace)
    {
        int n = query.Length, m = target.Length, width = 2 * band + 1;
        var first = Math.Max(0, -diagonal - band);
        var lastRow = Math.Min(n - 1, m - 1 - diagonal + band);
        if (first > lastRow) return default;
        var rows = lastRow - first + 1;
        workspace.Ensure(width, rows * width);
        var h = workspace.H; var hPrevious = workspace.HPrevious; var f = workspace.F; var fPrevious = workspace.FPrevious;
        var trace = workspace.Trace;
        var scores = Blosum62.Scores;
        const int open = GapOpen + GapExtend, extend = GapExtend;
        Array.Fill(hPrevious, 0, 0, width);
        Array.Fill(fPrevious, Negative, 0, width);
        int best = 0, bestRow = -1, bestK = 0;
        for (var r = 0; r < rows; r++)
        {
            var i = first + r;
            var rowBase = scores.AsSpan(query[i] * Blosum62.Size, Blosum62.Size);
            var jLow = i + diagonal - band;
            var e = Negative;
            var traceRow = trace.AsSpan(r * width, width);
            for (var k = 0; k < width; k++)
            {
                var j = jLow + k;
                if (j < 0 || j >= m)
                {
                    h[k] = 0; f[k] = Negative; e = Negative; traceRow[k] = 0;
                    continue;
                }
                var diagonalScore = (r > 0 ? hPrevious[k] : 0) + rowBase[target[j]];
                int upOpen = Negative, upExtend = Negative;
                if (r > 0 && k + 1 < width) { upOpen = hPrevious[k + 1] - open; upExtend = fPrevious[k + 1] - extend; }
                var up = Math.Max(upOpen, upExtend);
                int leftOpen = Negative, leftExtend = Negative;
                if (k > 0) { leftOpen = h[k - 1] - open; leftExtend = e - extend; }
                e = Math.Max(leftOpen, leftExtend);
                var cell = Math.Max(Math.Max(0, diagonalScore), Math.Max(e, up));
                byte direction = cell == 0 ? (byte)0 : cell == diagonalScore ? FromDiagonal : cell == e ? FromLeftGap : FromUpGap;
                if (leftExtend > leftOpen) direction |= LeftExtends;
                if (upExtend > upOpen) direction |= UpExtends;
                traceRow[k] = direction;
                h[k] = cell;
                f[k] = up;
                if (cell > best) { best = cell; bestRow = r; bestK = k; }
            }
            (h, hPrevious) = (hPrevious, h);
            (f, fPrevious) = (fPrevious, f);
        }
        workspace.H = h; workspace.HPrevious = hPrevious; workspace.F = f; workspace.FPrevious = fPrevious;
        if (bestRow < 0) return default;
        return Traceback(query, target, diagonal, band, first, width, workspace, best, bestRow, bestK);
    }

    /// <summary>
    /// The longest run of consecutive columns of the last alignment (<see cref="Workspace.Identical"/>) holding at least
    /// <paramref name="minColumns"/> columns at <paramref name="minIdentity"/> or more, or null. Smith-Waterman's best
    /// alignment may run on into unrelated flanks (a 60-residue hazard inside a random protein can align as 150
    /// columns at 53%), while the rule is "any local alignment of so many columns at so much identity": this finds
    /// that alignment inside the best one. Each column weighs (identical - minIdentity); a run qualifies when its
    /// weights sum to 0 or more, and the longest such run is the widest ramp of the prefix sums (O(n)).
    /// </summary>
    public static (int Columns, int Identities)? BestWindow(ReadOnlySpan<byte> identical, int minColumns, double minIdentity)
    {
        var n = identical.Length;
        if (n < minColumns) return null;
        var prefix = new double[n + 1];
        for (var i = 0; i < n; i++) prefix[i + 1] = prefix[i] + identical[i] - minIdentity;
        var leftMin = new double[n + 1];
        var rightMax = new double[n + 1];
        leftMin[0] = prefix[0];
        for (var i = 1; i <= n; i++) leftMin[i] = Math.Min(leftMin[i - 1], prefix[i]);
        rightMax[n] = prefix[n];
        for (var i = n - 1; i >= 0; i--) rightMax[i] = Math.Max(rightMax[i + 1], prefix[i]);
        int start = 0, end = 0, bestStart = -1, bestEnd = -1;
        const double tolerance = 1e-9;
        while (start <= n && end <= n)
        {
            if (leftMin[start] <= rightMax[end] + tolerance)
            {
                if (end - start > bestEnd - bestStart) { bestStart = start; bestEnd = end; }
                end++;
            }
            else start++;
        }
        if (bestStart < 0 || bestEnd - bestStart < minColumns) return null;
        var identities = 0;
        for (var i = bestStart; i < bestEnd; i++) identities += identical[i];
        return (bestEnd - bestStart, identities);
    }

    private const int GapOpen = ControlledProteinDatabase.GapOpen, GapExtend = ControlledProteinDatabase.GapExtend;

    private static Result Traceback(ReadOnlySpan<byte> query, ReadOnlySpan<byte> target, int diagonal, int band, int first, int width,
        Workspace workspace, int score, int row, int k)
    {
        var trace = workspace.Trace;
        int columns = 0, identities = 0;
        // An alignment has at most one column per query residue plus one per target residue.
        if (workspace.Identical.Length < query.Length + target.Length) workspace.Identical = new byte[query.Length + target.Length];
        var identical = workspace.Identical;
        var state = 0;   // 0: in H, 1: in a left gap (E), 2: in an up gap (F)
        while (row >= 0 && k >= 0 && k < width)
        {
            var cell = trace[row * width + k];
            if (state == 0)
            {
                switch (cell & 3)
                {
                    case 0: return new Result(score, columns, identities);
                    case FromDiagonal:
                        var i = first + row;
                        var j = i + diagonal - band + k;
                        var same = query[i] == target[j] && query[i] != Blosum62.X;
                        identical[columns++] = same ? (byte)1 : (byte)0;
                        if (same) identities++;
                        row--;
                        continue;
                    case FromLeftGap: state = 1; continue;
                    default: state = 2; continue;
                }
            }
            identical[columns++] = 0;
            if (state == 1)
            {
                if ((cell & LeftExtends) == 0) state = 0;
                k--;
            }
            else
            {
                if ((cell & UpExtends) == 0) state = 0;
                row--;
                k++;
            }
        }
        return new Result(score, columns, identities);
    }
}
