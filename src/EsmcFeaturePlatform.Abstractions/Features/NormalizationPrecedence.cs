using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The one rule that says which normalization statistics are in effect for an SAE; the server (the SAE's statistics
/// grain) and the CLI (<c>encode --normalize</c>) both ask it, so the same SAE normalizes the same way everywhere.
/// <para>The source an admin chose (<c>setNormalizationSource</c>; on the CLI an explicit <c>--stats FILE</c> is a
/// choice of imported statistics) is in effect whatever else exists. Without a choice: imported statistics first
/// (an admin imported them on purpose, so an import is never silently ignored), then the checkpoint's own statistics
/// when they are real (not Biohub's all-ones placeholders), then the statistics of the corpus indexed on this
/// platform; none when none exists.</para>
/// </summary>
public static class NormalizationPrecedence
{
    /// <summary>The default order, first available wins.</summary>
    public static readonly NormalizationSource[] DefaultOrder = [NormalizationSource.Imported, NormalizationSource.Checkpoint, NormalizationSource.Corpus];

    /// <summary>The source in effect: the chosen one, else the first of <see cref="DefaultOrder"/> that is available.</summary>
    public static NormalizationSource InEffect(NormalizationSource? chosen, Func<NormalizationSource, bool> isAvailable)
    {
        if (chosen is { } choice && choice != NormalizationSource.None) return choice;
        foreach (var source in DefaultOrder)
            if (isAvailable(source)) return source;
        return NormalizationSource.None;
    }

    /// <summary>Why <paramref name="inEffect"/> is in effect, in one sentence a person can act on.</summary>
    public static string Explain(NormalizationSource? chosen, NormalizationSource inEffect) =>
        chosen is { } choice && choice != NormalizationSource.None
            ? $"{Name(choice)} statistics, chosen by an admin (setNormalizationSource; send source: null to return to the default order)."
            : inEffect == NormalizationSource.None
                ? "No normalization statistics: the checkpoint's are placeholders (or absent), none were imported and no corpus was indexed."
                : $"{Name(inEffect)} statistics, by the default order (imported, then real checkpoint statistics, then corpus statistics).";

    /// <summary>The API's name of a source (CHECKPOINT, IMPORTED, CORPUS).</summary>
    public static string Name(NormalizationSource source) => source.ToString().ToUpperInvariant();
}
