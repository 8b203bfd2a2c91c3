using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Evidence;

namespace EsmcFeaturePlatform.Agents.Output;

/// <summary>
/// The JSON Schema of a describer's answer. This code is the source of truth; the committed copy in
/// schemas/feature-description.schema.json is drift-tested against <see cref="Json"/>.
/// </summary>
public static class DescriberOutputSchema
{
    public const string SchemaId = "https://esmc-feature-platform/schemas/feature-description.schema.json";
    public const int MaxLabelWords = 8;

    public static JsonObject Build() => new()
    {
        ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
        ["$id"] = SchemaId,
        ["title"] = "FeatureDescription",
        ["description"] = "A description agent's answer for one SAE feature of an ESMC protein language model.",
        ["type"] = "object",
        ["additionalProperties"] = false,
        ["required"] = new JsonArray("label", "description", "activationPattern", "confidence", "evidenceCited"),
        ["properties"] = new JsonObject
        {
            ["label"] = new JsonObject
            {
                ["type"] = "string",
                ["description"] = "A few words naming what the feature detects.",
                ["minLength"] = 1,
                ["maxLength"] = 80,
                ["pattern"] = @"^\S+(\s\S+){0," + (MaxLabelWords - 1) + @"}$",
            },
            ["description"] = new JsonObject
            {
                ["type"] = "string",
                ["description"] = "One to four sentences: what the feature responds to and where in the protein.",
                ["minLength"] = 10,
                ["maxLength"] = 2000,
            },
            ["activationPattern"] = new JsonObject
            {
                ["type"] = "string",
                ["description"] = "How activation is laid out along a protein.",
                ["enum"] = new JsonArray([.. ActivationPatterns.All.Select(p => (JsonNode)p)]),
            },
            ["confidence"] = new JsonObject
            {
                ["type"] = "number",
                ["description"] = "How well the evidence supports the description, 0 to 1.",
                ["minimum"] = 0,
                ["maximum"] = 1,
            },
            ["evidenceCited"] = new JsonObject
            {
                ["type"] = "array",
                ["description"] = "The evidence the description rests on, e.g. 'TRANSMEM F1 0.81' or 'peak residue C in 18/20 examples'.",
                ["minItems"] = 1,
                ["maxItems"] = 20,
                ["items"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 300 },
            },
        },
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, IndentSize = 2, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The exact text committed in schemas/ (two-space indent, LF, trailing newline).</summary>
    public static string Json { get; } = Build().ToJsonString(Indented).ReplaceLineEndings("\n") + "\n";

    private static readonly JsonObject Parsed = Build();

    /// <summary>
    /// Parses a model's answer: strips a Markdown code fence if present, parses JSON, validates it
    /// against the schema and returns the record, or the list of problems to send back to the model.
    /// </summary>
    public static (DescriberOutput? Output, IReadOnlyList<string> Errors) Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, ["the answer was empty; reply with the JSON object only"]);
        var body = ExtractJson(text);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException ex)
        {
            return (null, [$"the answer is not valid JSON ({ex.Message})"]);
        }
        var errors = JsonSchemaValidator.Validate(Parsed, node);
        if (errors.Count > 0) return (null, errors);
        var o = node!.AsObject();
        var output = new DescriberOutput(
            o["label"]!.GetValue<string>().Trim(),
            o["description"]!.GetValue<string>().Trim(),
            o["activationPattern"]!.GetValue<string>(),
            o["confidence"]!.GetValue<double>(),
            [.. o["evidenceCited"]!.AsArray().Select(x => x!.GetValue<string>())]);
        return (output, []);
    }

    /// <summary>Validates an output built in code (the evidence-only describer) by the same rules the model must meet.</summary>
    public static IReadOnlyList<string> Validate(DescriberOutput output)
    {
        var node = new JsonObject
        {
            ["label"] = output.Label,
            ["description"] = output.Description,
            ["activationPattern"] = output.ActivationPattern,
            ["confidence"] = output.Confidence,
            ["evidenceCited"] = new JsonArray([.. output.EvidenceCited.Select(e => (JsonNode)e)]),
        };
        return JsonSchemaValidator.Validate(Parsed, node);
    }

    private static string ExtractJson(string text)
    {
        var t = text.Trim();
        if (t.StartsWith("```", StringComparison.Ordinal))
        {
            var firstNewline = t.IndexOf('\n', StringComparison.Ordinal);
            var closing = t.LastIndexOf("```", StringComparison.Ordinal);
            if (firstNewline > 0 && closing > firstNewline) return t[(firstNewline + 1)..closing].Trim();
        }
        // Models sometimes wrap the object in a sentence; take the outermost braces.
        var open = t.IndexOf('{', StringComparison.Ordinal);
        var close = t.LastIndexOf('}');
        return open >= 0 && close > open ? t[open..(close + 1)] : t;
    }
}
