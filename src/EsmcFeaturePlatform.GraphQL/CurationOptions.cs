using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Curation rules, bound from <see cref="SectionName"/>.</summary>
public sealed class CurationOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Curation";

    /// <summary>
    /// Lets a curator approve a version they proposed. Off by default: a description becomes the approved one only after
    /// a second person read it. Turn it on for a single-person deployment (the reviewer is still recorded).
    /// </summary>
    public bool AllowSelfApproval { get; set; }

    /// <summary>Nothing to refuse: a single switch.</summary>
    public void Validate() { }
}
