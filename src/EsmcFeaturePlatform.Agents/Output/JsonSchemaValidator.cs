using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EsmcFeaturePlatform.Agents.Output;

/// <summary>
/// A validator for the subset of JSON Schema (2020-12) our committed schemas use: type, properties,
/// required, additionalProperties (boolean), enum, minLength/maxLength/pattern, minimum/maximum,
/// items/minItems/maxItems. An unknown keyword is an error, so a schema edit cannot silently
/// weaken validation.
/// </summary>
public static class JsonSchemaValidator
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal) { "$schema", "$id", "title", "description" };

    public static IReadOnlyList<string> Validate(JsonObject schema, JsonNode? instance)
    {
        var errors = new List<string>();
        Check(schema, instance, "$", errors);
        return errors;
    }

    private static void Check(JsonObject schema, JsonNode? node, string path, List<string> errors)
    {
        foreach (var (keyword, value) in schema)
        {
            if (Annotations.Contains(keyword)) continue;
            switch (keyword)
            {
                case "type":
                    var type = value!.GetValue<string>();
                    if (!HasType(node, type)) { errors.Add($"{path}: expected {type}, got {Describe(node)}"); return; }
                    break;
                case "properties":
                case "required":
                case "additionalProperties":
                    if (node is JsonObject obj) CheckObject(schema, keyword, obj, path, errors);
                    break;
                case "enum":
                    if (!value!.AsArray().Any(v => JsonNode.DeepEquals(v, node)))
                        errors.Add($"{path}: must be one of {value.ToJsonString()}, got {Describe(node)}");
                    break;
                case "minLength":
                    if (node is JsonValue sv && sv.TryGetValue<string>(out var s1) && s1.Trim().Length < Int(value))
                        errors.Add($"{path}: must have at least {value} characters");
                    break;
                case "maxLength":
                    if (node is JsonValue sv2 && sv2.TryGetValue<string>(out var s2) && s2.Length > Int(value))
                        errors.Add($"{path}: must have at most {value} characters, has {s2.Length}");
                    break;
                case "pattern":
                    if (node is JsonValue sv3 && sv3.TryGetValue<string>(out var s3)
                        && !Regex.IsMatch(s3, value!.GetValue<string>(), RegexOptions.None, TimeSpan.FromSeconds(1)))
                        errors.Add($"{path}: does not match {value}");
                    break;
                case "minimum":
                    if (Number(node) is double n1 && n1 < Dbl(value)) errors.Add($"{path}: must be >= {value}, got {Fmt(n1)}");
                    break;
                case "maximum":
                    if (Number(node) is double n2 && n2 > Dbl(value)) errors.Add($"{path}: must be <= {value}, got {Fmt(n2)}");
                    break;
                case "items":
                    if (node is JsonArray items)
                        for (var i = 0; i < items.Count; i++) Check(value!.AsObject(), items[i], $"{path}[{i}]", errors);
                    break;
                case "minItems":
                    if (node is JsonArray a1 && a1.Count < Int(value)) errors.Add($"{path}: must have at least {value} items");
                    break;
                case "maxItems":
                    if (node is JsonArray a2 && a2.Count > Int(value)) errors.Add($"{path}: must have at most {value} items, has {a2.Count}");
                    break;
                default:
                    throw new NotSupportedException($"JSON Schema keyword '{keyword}' at {path} is not supported by this validator.");
            }
        }
    }

    private static void CheckObject(JsonObject schema, string keyword, JsonObject obj, string path, List<string> errors)
    {
        var props = schema["properties"] as JsonObject;
        switch (keyword)
        {
            case "properties":
                foreach (var (name, sub) in props!)
                    if (obj.TryGetPropertyValue(name, out var child)) Check(sub!.AsObject(), child, $"{path}.{name}", errors);
                break;
            case "required":
                foreach (var r in schema["required"]!.AsArray())
                    if (!obj.ContainsKey(r!.GetValue<string>())) errors.Add($"{path}: missing required property '{r}'");
                break;
            case "additionalProperties":
                if (schema["additionalProperties"]!.GetValue<bool>()) break;
                foreach (var (name, _) in obj)
                    if (props is null || !props.ContainsKey(name)) errors.Add($"{path}: unexpected property '{name}'");
                break;
        }
    }

    private static bool HasType(JsonNode? node, string type) => type switch
    {
        "object" => node is JsonObject,
        "array" => node is JsonArray,
        "string" => node is JsonValue v && v.GetValueKind() == JsonValueKind.String,
        "number" => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number,
        "integer" => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && Number(v) is double d && Math.Floor(d) == d,
        "boolean" => node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        "null" => node is null,
        _ => throw new NotSupportedException($"JSON Schema type '{type}' is not supported."),
    };

    // Schema numbers may be JSON-parsed or built in code (JsonValue<int>), which GetValue<double> cannot convert.
    private static double Dbl(JsonNode? node) => double.Parse(node!.ToJsonString(), CultureInfo.InvariantCulture);

    private static int Int(JsonNode? node) => (int)Dbl(node);

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? Dbl(v) : null;

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind().ToString().ToLowerInvariant() + " " + Truncate(v.ToJsonString()),
        _ => "unknown",
    };

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;

    private static string Fmt(double d) => d.ToString(CultureInfo.InvariantCulture);
}
