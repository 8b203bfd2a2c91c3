namespace EsmcFeaturePlatform.Abstractions.Configuration;

/// <summary>
/// A settings class of the platform: bound from the configuration section <see cref="SectionName"/> (by
/// <see cref="ValidatedOptions"/>, the one way settings are bound and checked).
/// </summary>
public interface IValidatedOptions
{
    /// <summary>The configuration section, e.g. <c>Esmc:Indexing</c>; errors name a setting as <c>SECTION:KEY</c>.</summary>
    static abstract string SectionName { get; }

    /// <summary>
    /// Refuses settings the platform cannot run with: throws an <see cref="ArgumentException"/> (or
    /// <see cref="InvalidOperationException"/>) whose message names the setting (<c>SECTION:KEY</c>), the value found
    /// and what it must be.
    /// </summary>
    void Validate();
}
