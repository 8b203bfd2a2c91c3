using EsmcFeaturePlatform.Abstractions.Files;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using Microsoft.Extensions.Options;
using System.Globalization;
using System.Text.Json;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// The import format of published normalization statistics: a JSON object with two arrays of the SAE's codebook
/// size, <c>{"max": [...], "idf": [...]}</c> (optionally <c>"sae": "ID"</c>, checked when present). Values must be
/// finite and not negative; a feature with max 0 normalizes to 0.
/// </summary>
public static class NormalizationStatsFile
{
    /// <summary>Reads the file; errors name it (<paramref name="path"/>) and the place, never its contents.</summary>
    public static async Task<NormalizationStats> ReadAsync(Stream stream, string path, SaeDescriptor sae)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(stream);
        }
        catch (JsonException ex)
        {
            throw PlatformError.BadInput($"Statistics file '{path}' is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw PlatformError.BadInput($"Statistics file '{path}' must hold a JSON object with arrays \"max\" and \"idf\".");
            if (root.TryGetProperty("sae", out var saeProperty) && saeProperty.ValueKind == JsonValueKind.String && saeProperty.GetString() != sae.Id)
                throw PlatformError.BadInput($"Statistics file '{path}' names another SAE in \"sae\", not '{sae.Id}'.");
            return new NormalizationStats(ReadArray(root, "max", path, sae), ReadArray(root, "idf", path, sae));
        }
    }

    private static float[] ReadArray(JsonElement root, string name, string path, SaeDescriptor sae)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
            throw PlatformError.BadInput($"Statistics file '{path}' has no array \"{name}\".");
        if (array.GetArrayLength() != sae.CodebookSize)
            throw PlatformError.BadInput($"Statistics file '{path}': \"{name}\" has {array.GetArrayLength()} values; SAE '{sae.Id}' has {sae.CodebookSize} features.");
        var values = new float[sae.CodebookSize];
        var i = 0;
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value) || !double.IsFinite(value) || value < 0)
                throw PlatformError.BadInput($"Statistics file '{path}': \"{name}\"[{i}] is not a finite, non-negative number.");
            values[i++] = (float)value;
        }
        return values;
    }
}
