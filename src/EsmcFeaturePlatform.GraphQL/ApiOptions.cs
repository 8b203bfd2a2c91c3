using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Limits of the GraphQL API, bound from <see cref="SectionName"/>.</summary>
public sealed class ApiOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Api";

    /// <summary>Largest accepted request body; larger ones are refused before parsing.</summary>
    public int MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>Deepest selection set accepted (the standard introspection query needs about 13).</summary>
    public int MaxDepth { get; set; } = 15;

    /// <summary>
    /// The parser's nesting limit in AST levels (a selection level is two, a list or object value one): deeper documents
    /// are refused before any of them is built. <see cref="MaxDepth"/> refuses deep selections with a clearer message.
    /// </summary>
    public int MaxNesting { get; set; } = 128;

    /// <summary>Longest query document accepted, in characters (variables are bounded by <see cref="MaxRequestBytes"/>).</summary>
    public int MaxDocumentChars { get; set; } = 65_536;

    /// <summary>Most fields an operation may select once its fragments are expanded (each spread counted where it is used).</summary>
    public int MaxFields { get; set; } = 2_000;

    /// <summary>Most aliased fields an operation may hold once its fragments are expanded.</summary>
    public int MaxAliases { get; set; } = 100;

    /// <summary>Most fragment spreads an operation may hold once its fragments are expanded.</summary>
    public int MaxFragmentSpreads { get; set; } = 500;

    /// <summary>Most errors one answer carries; the rest are summed up in one last error.</summary>
    public int MaxErrors { get; set; } = 20;

    /// <summary>Largest cost (<see cref="RequestCost"/>: fields, residues, search terms, features read) of one request with an API key.</summary>
    public int MaxCost { get; set; } = 100_000;

    /// <summary>Largest cost of one anonymous request.</summary>
    public int AnonymousMaxCost { get; set; } = 10_000;

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
        foreach (var (name, value) in new[] { ("MaxDocumentChars", MaxDocumentChars), ("MaxNesting", MaxNesting), ("MaxFields", MaxFields), ("MaxAliases", MaxAliases),
                     ("MaxFragmentSpreads", MaxFragmentSpreads), ("MaxErrors", MaxErrors), ("MaxCost", MaxCost), ("AnonymousMaxCost", AnonymousMaxCost) })
            if (value < 1) throw new ArgumentException($"{SectionName}:{name} must be positive; got {value}.");
        if (MaxComplexity < 1) throw new ArgumentException($"{SectionName}:MaxComplexity must be positive; got {MaxComplexity}.");
        if (EnrichmentExamples < 1) throw new ArgumentException($"{SectionName}:EnrichmentExamples must be positive; got {EnrichmentExamples}.");
        if (MaxPageSize < 1) throw new ArgumentException($"{SectionName}:MaxPageSize must be positive; got {MaxPageSize}.");
    }
}
