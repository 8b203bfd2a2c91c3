using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Search.Elasticsearch;
using EsmcFeaturePlatform.Search.Lucene;
using Lucene.Net.Documents;
using Xunit;

namespace EsmcFeaturePlatform.Search.Tests;

public sealed class SchemaDriftTests
{
    private const string UpdateCommand = "ESMC_UPDATE_SCHEMAS=1 dotnet test tests/EsmcFeaturePlatform.Search.Tests --filter SchemaDriftTests";

    private static string CommittedPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln")))
                return Path.Combine(dir.FullName, "schemas", "feature-index.mapping.json");
        }
        throw new InvalidOperationException("Cannot find the repository root (EsmcFeaturePlatform.sln) above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_committed_mapping_is_the_one_the_code_builds()
    {
        var path = CommittedPath();
        var generated = FeatureIndexMapping.BuildText();
        if (Environment.GetEnvironmentVariable("ESMC_UPDATE_SCHEMAS") == "1") File.WriteAllText(path, generated);

        var committed = File.Exists(path) ? File.ReadAllText(path) : "";
        Assert.True(committed == generated,
            $"schemas/feature-index.mapping.json differs from FeatureIndexMapping.Build(). If the change is intended, regenerate it with:\n  {UpdateCommand}\nand commit the file.");
    }

    [Fact]
    public void The_mapping_compiled_into_the_adapter_is_the_committed_file()
    {
        Assert.True(File.ReadAllText(CommittedPath()) == FeatureIndexMapping.LoadCommitted(),
            "The Elasticsearch adapter embeds a stale mapping; rebuild src/EsmcFeaturePlatform.Search.Elasticsearch.");
    }

    [Fact]
    public void Lucene_fields_mirror_the_committed_mapping()
    {
        var properties = JsonNode.Parse(File.ReadAllText(CommittedPath()))!["mappings"]!["properties"]!.AsObject();
        var full = new FeatureDocument("sae/layer1", 1, "label", "text", DescriptionStatus.Approved, DescriptionSource.Agent, 0.5, 1f,
            2, 3, 0.4, ["term"], DateTimeOffset.UnixEpoch);
        var lucene = LuceneFeatureDocuments.Create(full).Fields.Cast<Field>().Where(f => f.FieldType.IsIndexed).ToList();

        Assert.Equal(properties.Select(p => p.Key).Order(), lucene.Select(f => f.Name).Distinct().Order());
        foreach (var field in lucene)
        {
            var type = properties[field.Name]!["type"]!.GetValue<string>();
            var luceneType = field.FieldType.NumericType switch
            {
                NumericType.INT32 => "integer",
                NumericType.INT64 => "date", // dates are epoch milliseconds in Lucene
                NumericType.SINGLE => "float",
                NumericType.DOUBLE => "double",
                _ => field.FieldType.IsTokenized ? "text" : "keyword",
            };
            Assert.True(type == luceneType, $"field '{field.Name}': mapping says {type}, Lucene indexes it as {luceneType}");
        }
    }
}
