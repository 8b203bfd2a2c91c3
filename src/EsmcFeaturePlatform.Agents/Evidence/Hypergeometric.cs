namespace EsmcFeaturePlatform.Agents.Evidence;

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
        var logDenominator = LogChoose(population, draws);
        // Summing in log space from the largest term keeps tiny tails (1e-300) from underflowing to 0 too early.
        var terms = new double[hi - lo + 1];
        var max = double.NegativeInfinity;
        for (var x = lo; x <= hi; x++)
        {
            var t = LogChoose(successes, x) + LogChoose(population - successes, draws - x) - logDenominator;
            terms[x - lo] = t;
            if (t > max) max = t;
        }
        var sum = 0.0;
        foreach (var t in terms) sum += Math.Exp(t - max);
        return Math.Min(1.0, Math.Exp(max) * sum);
    }

    public static double LogChoose(int n, int k) => LogFactorial(n) - LogFactorial(k) - LogFactorial(n - k);

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
