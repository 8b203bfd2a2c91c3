using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Cli.Output;

/// <summary>
/// The JSON Lines shape of <c>encode</c> (docs/contracts.md, section 2): one object per record with id, length, sae,
/// normalized, residues (one feature list per residue) and pooled (a feature list). Values are float32 printed in
/// their shortest round-trip form, so parsing a value back as float32 gives exactly the computed number.
/// </summary>
public static class FeatureJsonLines
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Ids are written as the user gave them ('|' in UniProt-style ids stays '|'), still valid JSON.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    /// <remarks>
    /// Beyond docs/contracts.md, section 2: <paramref name="normalizationSource"/> (CHECKPOINT or IMPORTED) is written when normalized,
    /// <paramref name="unknownTokens"/> when the reference behaviour (--unknown-as-unk) was asked for.
    /// </remarks>
    public static string Format(string id, string saeId, bool normalized, IReadOnlyList<FeatureActivation[]> residues, IReadOnlyList<PooledActivation> pooled,
        string? normalizationSource = null, int? unknownTokens = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteNumber("length", residues.Count);
            json.WriteString("sae", saeId);
            json.WriteBoolean("normalized", normalized);
            if (normalizationSource is not null) json.WriteString("normalizationSource", normalizationSource);
            if (unknownTokens is { } unknown) json.WriteNumber("unknownTokens", unknown);
            json.WriteStartArray("residues");
            foreach (var row in residues)
            {
                json.WriteStartArray();
                foreach (var feature in row) WritePair(json, feature.Index, feature.Value);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteStartArray("pooled");
            foreach (var feature in pooled) WritePair(json, feature.Index, feature.Value);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WritePair(Utf8JsonWriter json, int index, float value)
    {
        if (!float.IsFinite(value))
            throw new InvalidOperationException($"feature {index} has the non-finite value {value}; refusing to write invalid JSON");
        json.WriteStartArray();
        json.WriteNumberValue(index);
        // "R" on float is the shortest string that parses back to the same float32 (.NET Core 3.0+).
        json.WriteRawValue(value.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
        json.WriteEndArray();
    }
}
