namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>
/// A family of enrichment tests corrected together with Benjamini-Hochberg (false discovery rate): the adjusted value
/// of a test is min over every test at least as large of (m x p / rank). The family should be every test made: for an
/// SAE, every (feature, concept) test over the features' top examples (EnrichmentFamilyGrain collects it once per
/// indexed corpus, because features are read one at a time and BH needs all p-values at once); without one, the
/// tests of a single report form their own family.
/// </summary>
public sealed class EnrichmentFamily
{
    /// <summary>Adjusted p-values below this survive: the false discovery rate controlled over the family.</summary>
    public const double FalseDiscoveryRate = 0.05;

    private readonly double[] _sorted;
    // _suffixMin[k] = min over 0-based positions j >= k of m * p_j / (j + 1); _suffixMin[m] = 1.
    private readonly double[] _suffixMin;

    private EnrichmentFamily(double[] sorted)
    {
        _sorted = sorted;
        var m = sorted.Length;
        _suffixMin = new double[m + 1];
        _suffixMin[m] = 1.0;
        for (var j = m - 1; j >= 0; j--) _suffixMin[j] = Math.Min(_suffixMin[j + 1], m * sorted[j] / (j + 1));
    }

    /// <summary>The family of these p-values (NaN counts as 1).</summary>
    public static EnrichmentFamily Of(IEnumerable<double> pValues)
    {
        var sorted = pValues.Select(p => double.IsNaN(p) ? 1.0 : Math.Clamp(p, 0.0, 1.0)).ToArray();
        Array.Sort(sorted);
        return new EnrichmentFamily(sorted);
    }

    /// <summary>How many tests the family holds (BH's m).</summary>
    public int Count => _sorted.Length;

    /// <summary>The family's p-values, ascending (what a describe job takes along to adjust its own tests against).</summary>
    public double[] SortedPValues => [.. _sorted];

    /// <summary>A family from p-values already sorted ascending (e.g. <see cref="SortedPValues"/> of another family).</summary>
    public static EnrichmentFamily FromSorted(double[] sorted)
    {
        for (var i = 1; i < sorted.Length; i++)
            if (!(sorted[i] >= sorted[i - 1])) throw new ArgumentException("p-values must be sorted ascending.", nameof(sorted));
        return new EnrichmentFamily([.. sorted]);
    }

    /// <summary>
    /// The BH-adjusted value of <paramref name="p"/> as a member of the family: exact for a test that is in it. A test
    /// outside it (the describe job's own evidence) is ranked among the family's tests as if it had been one of them.
    /// </summary>
    public double Adjust(double p)
    {
        if (double.IsNaN(p)) return 1.0;
        var m = _sorted.Length;
        if (m == 0) return Math.Clamp(p, 0.0, 1.0);
        var rank = UpperBound(p);   // tests with a p-value <= p: the largest rank among ties, as BH takes
        var own = m * p / Math.Max(1, rank);
        return Math.Clamp(Math.Min(own, _suffixMin[rank]), 0.0, 1.0);
    }

    private int UpperBound(double p)
    {
        int lo = 0, hi = _sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_sorted[mid] <= p) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
