using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Section <c>Esmc:Search</c> (docs/contracts.md, section 3.1): which <see cref="Abstractions.IFeatureIndex"/> the host uses.</summary>
public sealed class SearchOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Search";

    /// <summary><c>Lucene</c> (embedded, under Esmc:DataRoot/search) or <c>Elasticsearch</c> (Esmc:Search:Elasticsearch:Url).</summary>
    public string Provider { get; set; } = "Lucene";

    public bool IsLucene => Provider.Equals("Lucene", StringComparison.OrdinalIgnoreCase);

    public bool IsElasticsearch => Provider.Equals("Elasticsearch", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (!IsLucene && !IsElasticsearch)
            throw new ArgumentException($"{SectionName}:Provider must be 'Lucene' or 'Elasticsearch'; got '{Provider}'.");
    }
}
