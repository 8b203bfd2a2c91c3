namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Limits of the GraphQL API, bound from <see cref="SectionName"/>.</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Esmc:Api";

    /// <summary>Largest accepted request body; larger ones are refused before parsing.</summary>
    public int MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>Deepest selection set accepted (the standard introspection query needs about 13).</summary>
    public int MaxDepth { get; set; } = 15;

    /// <summary>Largest query complexity (graphql-dotnet's estimate) accepted.</summary>
    public int MaxComplexity { get; set; } = 1_000_000;

    /// <summary>Cap on topExamples(first) and similar page sizes.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Top examples per feature whose UniProt annotations Feature.annotationEnrichment tests (the describe job's default).</summary>
    public int EnrichmentExamples { get; set; } = 20;

    /// <summary>Largest normalization-statistics file accepted by importNormalizationStats.</summary>
    public long MaxImportBytes { get; set; } = 256L << 20;

    public void Validate()
    {
        if (MaxRequestBytes < 1024) throw new ArgumentException($"{SectionName}:MaxRequestBytes must be at least 1024; got {MaxRequestBytes}.");
        if (MaxDepth < 2) throw new ArgumentException($"{SectionName}:MaxDepth must be at least 2; got {MaxDepth}.");
        if (MaxComplexity < 1) throw new ArgumentException($"{SectionName}:MaxComplexity must be positive; got {MaxComplexity}.");
        if (EnrichmentExamples < 1) throw new ArgumentException($"{SectionName}:EnrichmentExamples must be positive; got {EnrichmentExamples}.");
        if (MaxPageSize < 1) throw new ArgumentException($"{SectionName}:MaxPageSize must be positive; got {MaxPageSize}.");
    }
}

/// <summary>Curation rules, bound from <see cref="SectionName"/>.</summary>
public sealed class CurationOptions
{
    public const string SectionName = "Esmc:Curation";

    /// <summary>
    /// Lets a curator approve a version they proposed. Off by default: a description becomes the approved one only after
    /// a second person read it. Turn it on for a single-person deployment (the reviewer is still recorded).
    /// </summary>
    public bool AllowSelfApproval { get; set; }
}
