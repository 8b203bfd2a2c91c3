namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The few pure functions on feature lists that every layer must compute the same way (pooling,
/// normalization, ordering). They live beside the records, not in an implementation, so the CLI,
/// the grains and the API cannot drift apart.
/// </summary>
public static class FeatureMath
{
    /// <summary>Contracts ordering: value descending, then feature index ascending.</summary>
    public static int CompareFeatureOrder(FeatureActivation a, FeatureActivation b)
    {
        var byValue = b.Value.CompareTo(a.Value);
        return byValue != 0 ? byValue : a.Index.CompareTo(b.Index);
    }

    /// <summary>Max over residues per feature, with the first residue (1-based) reaching it; sorted per contracts.</summary>
    public static PooledActivation[] Pool(IReadOnlyList<FeatureActivation[]> residues)
    {
        var best = new Dictionary<int, PooledActivation>();
        for (var r = 0; r < residues.Count; r++)
        {
            foreach (var f in residues[r])
            {
                if (f.Value <= 0) continue;
                if (!best.TryGetValue(f.Index, out var cur) || f.Value > cur.Value)
                    best[f.Index] = new PooledActivation(f.Index, f.Value, r + 1);
            }
        }
        var pooled = best.Values.ToArray();
        Array.Sort(pooled, (a, b) => CompareFeatureOrder(new(a.Index, a.Value), new(b.Index, b.Value)));
        return pooled;
    }

    /// <summary>value / max[j] * idf[j] (docs/model-math.md, section 6.6), applied to the selected entries; zeros dropped, re-sorted.</summary>
    public static FeatureActivation[] Normalize(FeatureActivation[] row, NormalizationStats stats)
    {
        var list = new List<FeatureActivation>(row.Length);
        foreach (var f in row)
        {
            var v = NormalizedValue(f.Index, f.Value, stats);
            if (v > 0) list.Add(new FeatureActivation(f.Index, v));
        }
        list.Sort(CompareFeatureOrder);
        return [.. list];
    }

    /// <summary>As the row overload, for pooled features (positions kept).</summary>
    public static PooledActivation[] Normalize(PooledActivation[] pooled, NormalizationStats stats)
    {
        var list = new List<PooledActivation>(pooled.Length);
        foreach (var p in pooled)
        {
            var v = NormalizedValue(p.Index, p.Value, stats);
            if (v > 0) list.Add(p with { Value = v });
        }
        list.Sort((a, b) => CompareFeatureOrder(new(a.Index, a.Value), new(b.Index, b.Value)));
        return [.. list];
    }

    /// <summary>One normalized value, <c>raw / max * idf</c>; 0 when the feature has no usable max or idf.</summary>
    public static float NormalizedValue(int index, float raw, NormalizationStats stats)
    {
        var max = stats.Max[index];
        // A feature that was never active in the statistics' corpus has no scale: report 0 rather than NaN/inf.
        if (!(max > 0) || float.IsNaN(stats.Idf[index])) return 0f;
        return raw / max * stats.Idf[index];
    }

    /// <summary>
    /// Inverse document frequency of a feature over a corpus: ln(corpusSize / documentCount) (docs/model-math.md, section 6.6), the
    /// scale <see cref="NormalizedValue"/> multiplies by. Null when the feature was never active there (or nothing was
    /// indexed): a feature that never fired has no idf, not an infinite one.
    /// </summary>
    public static double? Idf(long corpusSize, long documentCount) =>
        documentCount > 0 && corpusSize > 0 ? Math.Log((double)corpusSize / documentCount) : null;

    /// <summary>
    /// The corpus size that <see cref="Idf"/> implies from a document count and its idf (N = df * e^idf), for published
    /// statistics that give counts and idf but not the corpus they were computed over.
    /// </summary>
    public static double CorpusSizeImpliedBy(double documentCount, double idf) => documentCount * Math.Exp(idf);

    /// <summary>True when the statistics are Biohub's all-ones placeholders (docs/model-math.md, sections 6.6 and 9.2).</summary>
    public static bool IsPlaceholder(NormalizationStats stats) =>
        stats.Max.All(m => m == 1f) && stats.Idf.All(i => i == 1f);
}
