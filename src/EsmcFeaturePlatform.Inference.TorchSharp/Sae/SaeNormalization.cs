using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Inference.TorchSharp;

/// <summary>No usable statistics exist for an SAE (only placeholders, nothing imported).</summary>
public sealed class NormalizationUnavailableException(string saeId, string message) : InvalidOperationException(message)
{
    public string SaeId { get; } = saeId;
}

/// <summary>
/// Chooses the statistics for "normalized" output (docs/contracts.md, section 0; docs/model-math.md, section 6.6): imported
/// ones when given, else the SAE's own when real, else a clear refusal. Never normalizes with all-ones
/// placeholders, which would silently return raw values labelled as normalized.
/// </summary>
public static class SaeNormalization
{
    public static NormalizationStats Require(IFeatureEncoder encoder, string saeId, NormalizationStats? imported = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var descriptor = encoder.Saes.FirstOrDefault(s => s.Id == saeId) ?? throw new UnknownSaeException(saeId);
        if (imported is not null)
        {
            ValidateImported(saeId, imported, descriptor.CodebookSize);
            return imported;
        }
        return encoder.GetCheckpointStatistics(saeId)
            ?? throw new NormalizationUnavailableException(saeId,
                $"SAE {saeId} ships placeholder normalization statistics (idf and max all 1) and none were imported, so normalized features cannot be computed; use raw values or import statistics.");
    }

    /// <summary>Imported statistics must cover the codebook, be finite and not be placeholders.</summary>
    public static void ValidateImported(string saeId, NormalizationStats stats, int codebookSize)
    {
        ArgumentNullException.ThrowIfNull(stats);
        if (stats.Max.Length != codebookSize || stats.Idf.Length != codebookSize)
            throw new ArgumentException($"Imported statistics for SAE {saeId} have {stats.Max.Length} max and {stats.Idf.Length} idf values; the codebook has {codebookSize} features.");
        if (FeatureMath.IsPlaceholder(stats))
            throw new ArgumentException($"Imported statistics for SAE {saeId} are all ones (placeholders); they would not normalize anything.");
        for (var j = 0; j < codebookSize; j++)
            if (!float.IsFinite(stats.Max[j]) || !float.IsFinite(stats.Idf[j]) || stats.Max[j] < 0 || stats.Idf[j] < 0)
                throw new ArgumentException($"Imported statistics for SAE {saeId} have an invalid value at feature {j} (max {stats.Max[j]}, idf {stats.Idf[j]}); both must be finite and non-negative.");
    }
}
