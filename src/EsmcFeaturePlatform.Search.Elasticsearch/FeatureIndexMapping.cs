using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Search.Elasticsearch;

/// <summary>
/// The Elasticsearch index body (settings + mappings) generated from <see cref="FeatureIndexSchema"/>, and the
/// committed copy in <c>schemas/feature-index.mapping.json</c> that new indices are created from.
/// </summary>
public static class FeatureIndexMapping
{
    public const string ResourceName = "feature-index.mapping.json";
    public const int Version = 1;

    public static JsonObject Build()
    {
        var properties = new JsonObject();
        foreach (var field in FeatureIndexSchema.Fields)
        {
            properties[field.Name] = field.Kind switch
            {
                // The built-in english analyzer is the same chain as Lucene's EnglishAnalyzer (possessive, lowercase,
                // stop words, Porter stemming), so both providers stem "binding" and "binds" alike.
                FeatureIndexFieldKind.Text => new JsonObject { ["type"] = "text", ["analyzer"] = "english" },
                FeatureIndexFieldKind.Keyword => new JsonObject { ["type"] = "keyword" },
                FeatureIndexFieldKind.Integer => new JsonObject { ["type"] = "integer" },
                FeatureIndexFieldKind.Float => new JsonObject { ["type"] = "float" },
                FeatureIndexFieldKind.Double => new JsonObject { ["type"] = "double" },
                FeatureIndexFieldKind.Date => new JsonObject { ["type"] = "date", ["format"] = "strict_date_optional_time||epoch_millis" },
                _ => throw new InvalidOperationException($"No mapping for field kind {field.Kind}."),
            };
        }
        return new JsonObject
        {
            ["settings"] = new JsonObject
            {
                // One shard: BM25 statistics are then exact (not per shard), so ranks match Lucene's and pages are
                // stable; 131,072 features per SAE is far below what one shard holds.
                ["number_of_shards"] = 1,
            },
            ["mappings"] = new JsonObject
            {
                // Strict: a document with a field the schema lacks is refused instead of silently growing the mapping.
                ["dynamic"] = "strict",
                ["_meta"] = new JsonObject { ["schema"] = "esmc-feature-index", ["version"] = Version },
                ["properties"] = properties,
            },
        };
    }

    /// <summary>The generated body as it is committed: indented, LF line ends, final newline.</summary>
    public static string BuildText() =>
        Build().ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n") + "\n";

    /// <summary>The committed mapping compiled into this assembly.</summary>
    public static string LoadCommitted()
    {
        using var stream = typeof(FeatureIndexMapping).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
