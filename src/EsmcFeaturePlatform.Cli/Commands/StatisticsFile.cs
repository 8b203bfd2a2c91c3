using System.Globalization;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Cli.Commands;

/// <summary>
/// Imported normalization statistics for <c>encode --normalize --stats FILE</c>. Two formats, told apart by the
/// first character:
/// CSV with the header <c>feature,max,idf</c> and one row per feature (0-based index; features not listed, or
/// with an empty max, count as never active and normalize to 0), or
/// JSON <c>{"max": [...], "idf": [...]}</c> with one entry per feature of the codebook (null = never active).
/// Max is the feature's largest raw activation over the reference corpus, idf = ln(corpus size / proteins active).
/// </summary>
public static class StatisticsFile
{
    public static NormalizationStats Load(string path, int codebookSize)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"statistics file '{path}' does not exist", path);
        var text = File.ReadAllText(path);
        var stats = text.TrimStart().StartsWith('{') ? ParseJson(path, text, codebookSize) : ParseCsv(path, text, codebookSize);
        if (stats.Max.All(m => m == 0f))
            throw new FormatException($"{path}: no feature has a positive max; these statistics cannot normalize anything");
        return stats;
    }

    private static NormalizationStats ParseCsv(string path, string text, int codebookSize)
    {
        var max = new float[codebookSize];
        var idf = new float[codebookSize];
        var seen = new bool[codebookSize];
        var lines = text.Split('\n');
        var headerSeen = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var where = $"{path}:{i + 1}";
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var cells = line.Split(',');
            if (!headerSeen)
            {
                if (!cells.Select(c => c.Trim().ToLowerInvariant()).SequenceEqual(["feature", "max", "idf"]))
                    throw new FormatException($"{where}: expected the header 'feature,max,idf', found '{Preview(line)}'");
                headerSeen = true;
                continue;
            }
            if (cells.Length != 3)
                throw new FormatException($"{where}: expected 3 comma-separated values (feature,max,idf), found {cells.Length}");
            if (!int.TryParse(cells[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var feature) || feature >= codebookSize)
                throw new FormatException($"{where}: feature '{cells[0].Trim()}' is not an index from 0 to {codebookSize - 1} (the SAE's codebook size is {codebookSize})");
            if (seen[feature])
                throw new FormatException($"{where}: feature {feature} is listed twice");
            seen[feature] = true;
            max[feature] = ParseValue(cells[1], where, "max");
            idf[feature] = ParseValue(cells[2], where, "idf");
        }
        if (!headerSeen)
            throw new FormatException($"{path}: empty statistics file (expected the header 'feature,max,idf' and one row per feature)");
        return new NormalizationStats(max, idf);
    }

    private static NormalizationStats ParseJson(string path, string text, int codebookSize)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            return new NormalizationStats(ReadArray(root, "max"), ReadArray(root, "idf"));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: not valid JSON ({ex.Message})", ex);
        }

        float[] ReadArray(JsonElement root, string name)
        {
            if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
                throw new FormatException($"{path}: expected an array property \"{name}\"");
            if (array.GetArrayLength() != codebookSize)
                throw new FormatException($"{path}: \"{name}\" has {array.GetArrayLength()} entries but the SAE's codebook has {codebookSize} features");
            var values = new float[codebookSize];
            var i = 0;
            foreach (var item in array.EnumerateArray())
            {
                values[i] = item.ValueKind switch
                {
                    JsonValueKind.Null => 0f,
                    JsonValueKind.Number when item.GetSingle() is var v && float.IsFinite(v) && v >= 0 => v,
                    _ => throw new FormatException($"{path}: \"{name}\"[{i}] must be a non-negative number or null; got {item.GetRawText()}"),
                };
                i++;
            }
            return values;
        }
    }

    private static float ParseValue(string cell, string where, string column)
    {
        var text = cell.Trim();
        if (text.Length == 0) return 0f;
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !float.IsFinite(value) || value < 0)
            throw new FormatException($"{where}: {column} '{text}' is not a non-negative number");
        return value;
    }

    private static string Preview(string line) => line.Length <= 40 ? line : line[..40] + "...";
}
