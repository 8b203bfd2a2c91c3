namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>Upper-tail hypergeometric probability, the one-sided Fisher exact test for "overlaps more than chance".</summary>
public static class Hypergeometric
{
    /// <summary>
    /// P(X &gt;= <paramref name="observed"/>) when <paramref name="draws"/> items are drawn without
    /// replacement from <paramref name="population"/> items of which <paramref name="successes"/> are marked.
    /// </summary>
    public static double UpperTail(int population, int successes, int draws, int observed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(population);
        if (successes < 0 || successes > population) throw new ArgumentOutOfRangeException(nameof(successes));
        if (draws < 0 || draws > population) throw new ArgumentOutOfRangeException(nameof(draws));
        var lo = Math.Max(observed, Math.Max(0, draws - (population - successes)));
        var hi = Math.Min(draws, successes);
        if (lo > hi) return 0.0; // observed lies above the support
        var support = Math.Max(0, draws - (population - successes));
        var mode = (int)Math.Floor((draws + 1.0) * (successes + 1.0) / (population + 2.0));
        // Sum whichever tail lies away from the mode, so the terms shrink from the start and the sum
        // can stop early (thousands of terms otherwise, for the large overlaps of residue-level concepts).
        if (lo > mode) return Math.Min(1.0, Math.Exp(TailSum(population, successes, draws, lo, hi, +1)));
        if (lo <= support) return 1.0;
        return Math.Clamp(1.0 - Math.Exp(TailSum(population, successes, draws, lo - 1, support, -1)), 0.0, 1.0);
    }

    /// <summary>log of the sum of pmf terms from <paramref name="from"/> stepping by <paramref name="step"/> to <paramref name="to"/>.</summary>
    private static double TailSum(int population, int successes, int draws, int from, int to, int step)
    {
        var logDenominator = LogChoose(population, draws);
        var logSum = double.NegativeInfinity;
        for (var x = from; step > 0 ? x <= to : x >= to; x += step)
        {
            var t = LogChoose(successes, x) + LogChoose(population - successes, draws - x) - logDenominator;
            logSum = LogAdd(logSum, t);
            // Terms fall monotonically away from the mode; 40 e-folds below the sum they cannot change a double.
            if (t < logSum - 40) break;
        }
        return logSum;
    }

    private static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        var max = Math.Max(a, b);
        return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }

    /// <summary>ln(n choose k).</summary>
    public static double LogChoose(int n, int k) => LogFactorial(n) - LogFactorial(k) - LogFactorial(n - k);

    /// <summary>ln(n!), exact from a table for small n, Stirling's series beyond.</summary>
    public static double LogFactorial(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n < SmallTable.Length) return SmallTable[n];
        // Stirling series; at n >= 256 its error is far below double precision of the sums above.
        double x = n;
        return x * Math.Log(x) - x + 0.5 * Math.Log(2 * Math.PI * x) + 1.0 / (12 * x) - 1.0 / (360 * x * x * x);
    }

    private static readonly double[] SmallTable = BuildTable(256);

    private static double[] BuildTable(int n)
    {
        var t = new double[n];
        for (var i = 1; i < n; i++) t[i] = t[i - 1] + Math.Log(i);
        return t;
    }
}
