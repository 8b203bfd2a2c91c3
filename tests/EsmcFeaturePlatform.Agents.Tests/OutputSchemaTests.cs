using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Agents.Output;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;

namespace EsmcFeaturePlatform.Agents.Tests;

public class OutputSchemaTests
{
    private const string SchemaFile = "schemas/feature-description.schema.json";

    [Fact]
    public void Committed_schema_matches_the_code()
    {
        var path = Path.Combine(RepoPaths.Root, SchemaFile);
        if (Environment.GetEnvironmentVariable("ESMC_UPDATE_SCHEMAS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, DescriberOutputSchema.Json);
        }
        Assert.True(File.Exists(path), $"{SchemaFile} is missing. Regenerate: ESMC_UPDATE_SCHEMAS=1 dotnet test tests/EsmcFeaturePlatform.Agents.Tests --filter Committed_schema_matches_the_code");
        var committed = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(committed == DescriberOutputSchema.Json,
            $"{SchemaFile} drifted from DescriberOutputSchema. Regenerate: ESMC_UPDATE_SCHEMAS=1 dotnet test tests/EsmcFeaturePlatform.Agents.Tests --filter Committed_schema_matches_the_code");
    }

    [Fact]
    public void Committed_schema_is_what_the_validator_enforces()
    {
        // Validate with the committed file itself, so the file is a working contract and not just documentation.
        var committed = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, SchemaFile)))!.AsObject();
        var good = JsonNode.Parse(Good)!;
        Assert.Empty(JsonSchemaValidator.Validate(committed, good));
        var bad = JsonNode.Parse(Good.Replace("\"motif\"", "\"blob\"", StringComparison.Ordinal))!;
        Assert.Contains(JsonSchemaValidator.Validate(committed, bad), e => e.Contains("activationPattern", StringComparison.Ordinal));
    }

    private const string Good = """
        {"label": "Transmembrane helix", "description": "Fires across membrane-spanning hydrophobic helices.",
         "activationPattern": "motif", "confidence": 0.8, "evidenceCited": ["TRANSMEM F1 0.93"]}
        """;

    [Fact]
    public void Valid_answer_parses_even_inside_a_code_fence()
    {
        var (output, errors) = DescriberOutputSchema.Parse("```json\n" + Good + "\n```");
        Assert.Empty(errors);
        Assert.Equal("Transmembrane helix", output!.Label);
        Assert.Equal(0.8, output.Confidence);
        Assert.Equal(["TRANSMEM F1 0.93"], output.EvidenceCited);
    }

    [Theory]
    [InlineData("not json at all", "not valid JSON")]
    [InlineData("""{"label": "x"}""", "missing required property 'description'")]
    [InlineData("""{"label": "one two three four five six seven eight nine", "description": "A long enough text.", "activationPattern": "point", "confidence": 0.5, "evidenceCited": ["a"]}""", "$.label: does not match")]
    [InlineData("""{"label": "ok", "description": "A long enough text.", "activationPattern": "point", "confidence": 1.5, "evidenceCited": ["a"]}""", "$.confidence: must be <= 1")]
    [InlineData("""{"label": "ok", "description": "A long enough text.", "activationPattern": "point", "confidence": "high", "evidenceCited": ["a"]}""", "$.confidence: expected number")]
    [InlineData("""{"label": "ok", "description": "A long enough text.", "activationPattern": "point", "confidence": 0.5, "evidenceCited": []}""", "$.evidenceCited: must have at least 1 items")]
    [InlineData("""{"label": "ok", "description": "A long enough text.", "activationPattern": "point", "confidence": 0.5, "evidenceCited": ["a"], "extra": 1}""", "unexpected property 'extra'")]
    [InlineData("""{"label": "ok", "description": "A long enough text.", "activationPattern": "point", "confidence": 0.5, "evidenceCited": [3]}""", "$.evidenceCited[0]: expected string")]
    [InlineData("", "empty")]
    public void Invalid_answers_are_rejected_with_a_precise_reason(string answer, string expected)
    {
        var (output, errors) = DescriberOutputSchema.Parse(answer);
        Assert.Null(output);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Validator_refuses_schema_keywords_it_does_not_implement()
    {
        var schema = new JsonObject { ["type"] = "object", ["oneOf"] = new JsonArray() };
        Assert.Throws<NotSupportedException>(() => JsonSchemaValidator.Validate(schema, new JsonObject()));
    }
}
