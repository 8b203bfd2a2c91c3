using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Section <c>Esmc:Search:Sync</c>.</summary>
public sealed class SearchSyncOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Search:Sync";

    /// <summary>How often changed features are re-indexed; docs/contracts.md, section 3.3, wants a change searchable within a few seconds.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Features re-read and upserted per index call.</summary>
    public int MaxBatch { get; set; } = 512;

    public void Validate()
    {
        if (FlushInterval <= TimeSpan.Zero) throw new ArgumentException($"{SectionName}:FlushInterval must be positive.");
        if (MaxBatch < 1) throw new ArgumentException($"{SectionName}:MaxBatch must be positive.");
    }
}
