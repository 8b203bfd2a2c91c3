using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>
/// The reference's flattened batch output (docs/model-math.md, section 6.7): a 2-D sparse COO of shape (non-pad tokens, C),
/// rows = sequence 0's tokens (&lt;cls&gt; and &lt;eos&gt; included), then sequence 1's, ...; entries sorted by row, then feature.
/// </summary>
public sealed record SaeCoo(long[] Shape, int[] RowOffsets, long[] Rows, long[] Columns, float[] Values)
{
    /// <summary>Builds the COO from per-sequence position rows; with <paramref name="normalization"/> values are value / max * idf and zeros dropped.</summary>
    public static SaeCoo FromSequences(IReadOnlyList<FeatureActivation[][]> positionsPerSequence, int codebookSize, NormalizationStats? normalization = null)
    {
        var offsets = new int[positionsPerSequence.Count];
        var rows = new List<long>();
        var columns = new List<long>();
        var values = new List<float>();
        var row = 0;
        for (var s = 0; s < positionsPerSequence.Count; s++)
        {
            offsets[s] = row;
            foreach (var position in positionsPerSequence[s])
            {
                foreach (var f in position.OrderBy(f => f.Index))
                {
                    var value = normalization is null ? f.Value : FeatureMath.NormalizedValue(f.Index, f.Value, normalization);
                    if (value == 0) continue;
                    rows.Add(row);
                    columns.Add(f.Index);
                    values.Add(value);
                }
                row++;
            }
        }
        return new SaeCoo([row, codebookSize], offsets, [.. rows], [.. columns], [.. values]);
    }
}
