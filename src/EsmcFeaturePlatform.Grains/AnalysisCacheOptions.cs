using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Section <c>Esmc:AnalysisCache</c>: how much memory a silo spends on cached analyses, and for how long.</summary>
public sealed class AnalysisCacheOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:AnalysisCache";

    /// <summary>Estimated bytes of cached raw features per silo; the least recently used analyses go first (0 turns the cache off).</summary>
    public int MaxMegabytes { get; set; } = 256;

    /// <summary>An analysis not asked for this long is dropped, whatever room is left.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        if (MaxMegabytes < 0) throw new ArgumentException($"{SectionName}:MaxMegabytes must not be negative; got {MaxMegabytes}.");
        if (MaxAge <= TimeSpan.Zero) throw new ArgumentException($"{SectionName}:MaxAge must be positive; got {MaxAge}.");
    }
}
