using System.Collections;
using System.Globalization;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions.Grains;
using Parquet;
using Parquet.Serialization;

namespace EsmcFeaturePlatform.Corpus.FeatureDatasets;

/// <summary>
/// Reads a published feature dataset (parquet, Biohub's <c>biohub/ESMC-SAE-Features</c> schema, or this platform's own
/// parquet export) one row group at a time with Parquet.Net, mapping columns by name: order does not matter, unknown
/// columns are ignored, and a file without a feature-index column or without any known data column is an error that
/// lists the columns found. Values are accepted in the types writers use for them: any integer or float width, strings,
/// lists (or a JSON array in a string), and lists of structs for the id and neighbour lists.
/// </summary>
public sealed class FeatureDatasetReader
{
    /// <summary>Accepted names of the feature index column, in order of preference.</summary>
    public static IReadOnlyList<string> IndexColumns { get; } = ["feature_index", "index", "feature", "feature_id"];

    /// <summary>Known data columns and what each becomes; <c>label</c> (the export's name) is read as <c>summary</c>.</summary>
    public static IReadOnlyList<string> DataColumns { get; } =
    [
        "summary", "label", "description", "activation_pattern", "category", "exemplar_protein_families", "uniref90_frequency",
        "uniref90_idf", "uniref90_max_activation", "threshold", "top_100_uniref_ids", "top_swissprot_activations", "decoder_nearest_neighbors",
    ];

    private readonly string path;
    private readonly string indexColumn;
    private readonly HashSet<string> present;
    private readonly Dictionary<string, string> byLowerName;

    private FeatureDatasetReader(string path, IReadOnlyList<long> rowGroupRows, string indexColumn, Dictionary<string, string> byLowerName)
    {
        this.path = path;
        RowGroupRows = rowGroupRows;
        this.indexColumn = indexColumn;
        this.byLowerName = byLowerName;
        present = [.. byLowerName.Keys];
    }

    /// <summary>Rows per row group, in file order.</summary>
    public IReadOnlyList<long> RowGroupRows { get; }

    public long RowCount => RowGroupRows.Sum();

    /// <summary>The parquet files of a file or a folder (recursively, in ordinal path order, so a resumed job sees the same list).</summary>
    public static IReadOnlyList<string> Files(string fileOrFolder)
    {
        if (File.Exists(fileOrFolder)) return [fileOrFolder];
        if (!Directory.Exists(fileOrFolder)) throw new FileNotFoundException($"'{fileOrFolder}' is neither a parquet file nor a folder of them", fileOrFolder);
        var files = Directory.EnumerateFiles(fileOrFolder, "*.parquet", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}.cache{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            // Links are never followed: the folder was checked against the server's roots, a link inside it could leave them.
            .Where(f => new FileInfo(f).LinkTarget is null)
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new FileNotFoundException($"the folder '{fileOrFolder}' holds no .parquet file", fileOrFolder);
        return files;
    }

    /// <summary>Opens a file and checks its columns (reads only the footer).</summary>
    public static async Task<FeatureDatasetReader> OpenAsync(string path, CancellationToken ct = default)
    {
        try
        {
            await using var stream = File.OpenRead(path);
            await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct);
            var names = reader.Schema.Fields.Select(f => f.Name).ToList();
            var byLower = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in names) byLower.TryAdd(name.ToLowerInvariant(), name);
            var index = IndexColumns.FirstOrDefault(byLower.ContainsKey)
                ?? throw new FormatException($"{path}: no feature index column ({string.Join(", ", IndexColumns)}); the file's columns are: {string.Join(", ", names)}");
            if (!DataColumns.Any(byLower.ContainsKey))
                throw new FormatException($"{path}: none of the known data columns ({string.Join(", ", DataColumns)}); the file's columns are: {string.Join(", ", names)}");
            var rows = Enumerable.Range(0, reader.RowGroupCount).Select(i => reader.RowGroups[i].RowCount).ToList();
            return new FeatureDatasetReader(path, rows, index, byLower);
        }
        catch (Exception ex) when (ex is not (FormatException or FileNotFoundException or OperationCanceledException or UnauthorizedAccessException))
        {
            throw new FormatException($"{path}: not a readable parquet file ({ex.Message})", ex);
        }
    }

    /// <summary>Which statistics columns the file has (a job keeps imported statistics only from files that hold them).</summary>
    public bool Has(string column) => present.Contains(column);

    /// <summary>The rows of one row group; a feature index outside [0, <paramref name="codebookSize"/>) is an error naming the row.</summary>
    public async Task<IReadOnlyList<ImportedFeatureRow>> ReadRowGroupAsync(int rowGroup, int codebookSize, CancellationToken ct = default)
    {
        IList<Dictionary<string, object>> data;
        try
        {
            await using var stream = File.OpenRead(path);
            data = (await ParquetSerializer.DeserializeUntypedAsync(stream, null, rowGroup, ct)).Data;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Parquet.Net 6.1.0 cannot decode some encodings (e.g. list columns in data page v2, as hyparquet writes them).
            var why = ex.InnerException is { } inner ? $"{ex.Message}: {inner.Message}" : ex.Message;
            throw new FormatException($"{path}: row group {rowGroup} cannot be read ({why}); files written by pyarrow or Arrow C++ with their default settings can", ex);
        }
        var rows = new List<ImportedFeatureRow>(data.Count);
        for (var r = 0; r < data.Count; r++)
        {
            var row = data[r];
            var where = $"{path}, row group {rowGroup}, row {r}";
            var index = Integer(Cell(row, indexColumn), where, indexColumn);
            if (index < 0 || index >= codebookSize)
                throw new FormatException($"{where}: feature index {index} is outside the SAE's codebook of {codebookSize} features");
            rows.Add(new ImportedFeatureRow(
                (int)index,
                Text(row, "summary") ?? Text(row, "label"),
                Text(row, "description"),
                Text(row, "activation_pattern"),
                Text(row, "category"),
                Strings(row, "exemplar_protein_families"),
                Number(row, "uniref90_frequency", where),
                Number(row, "uniref90_idf", where),
                Number(row, "uniref90_max_activation", where),
                Number(row, "threshold", where),
                Strings(row, "top_100_uniref_ids"),
                Strings(row, "top_swissprot_activations"),
                Integers(row, "decoder_nearest_neighbors", where)));
        }
        return rows;
    }

    private object? Cell(Dictionary<string, object> row, string lowerName) =>
        byLowerName.TryGetValue(lowerName, out var name) && row.TryGetValue(name, out var value) ? value : null;

    private string? Text(Dictionary<string, object> row, string column)
    {
        if (!present.Contains(column)) return null;
        var text = AsString(Cell(row, column));
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    private double? Number(Dictionary<string, object> row, string column, string where)
    {
        if (!present.Contains(column)) return null;
        var value = Cell(row, column);
        if (value is null) return null;
        var number = value switch
        {
            double d => d,
            float f => f,
            decimal m => (double)m,
            IConvertible c when value is not string => c.ToDouble(CultureInfo.InvariantCulture),
            _ => double.TryParse(AsString(value), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                ? parsed : throw new FormatException($"{where}: column {column} holds '{AsString(value)}', not a number"),
        };
        return double.IsFinite(number) ? number : null;
    }

    /// <summary>A list column: an empty list reads as no key at all in Parquet.Net's untyped rows, so a present column with no value is [].</summary>
    private string[]? Strings(Dictionary<string, object> row, string column)
    {
        if (!present.Contains(column)) return null;
        return [.. Items(Cell(row, column)).Select(IdOf).OfType<string>().Where(s => s.Length > 0)];
    }

    private int[]? Integers(Dictionary<string, object> row, string column, string where)
    {
        if (!present.Contains(column)) return null;
        return [.. Items(Cell(row, column)).Select(item => item is IDictionary d ? NeighbourIndex(d) : item).Where(i => i is not null).Select(i => (int)Integer(i, where, column))];
    }

    /// <summary>
    /// The elements of a list cell: a parquet LIST, or text (a JSON array, as some writers store lists, else items
    /// separated by commas, semicolons or white space); JSON objects become dictionaries like parquet structs do.
    /// </summary>
    private static IEnumerable<object?> Items(object? value) => value switch
    {
        null => [],
        string or ReadOnlyMemory<char> or byte[] or ReadOnlyMemory<byte> => SplitText(AsString(value)!),
        IDictionary single => [single],
        IEnumerable list => list.Cast<object?>(),
        _ => [value],
    };

    private static object? NeighbourIndex(IDictionary d)
    {
        foreach (var key in new[] { "index", "feature_index", "feature", "feature_id", "neighbor", "neighbour" })
            if (d.Contains(key)) return d[key];
        return d.Values.Cast<object?>().FirstOrDefault(v => v is IConvertible and not string);
    }

    private static long Integer(object? value, string where, string column) => value switch
    {
        null => throw new FormatException($"{where}: column {column} is empty; every row needs a feature index"),
        long l => l,
        int i => i,
        short s => s,
        sbyte b => b,
        byte b => b,
        ushort u => u,
        uint u => u,
        ulong u when u <= long.MaxValue => (long)u,
        double d when d == Math.Floor(d) && Math.Abs(d) < 1e15 => (long)d,
        float f when f == MathF.Floor(f) => (long)f,
        _ when long.TryParse(AsString(value), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw new FormatException($"{where}: column {column} holds '{AsString(value)}', not a whole number"),
    };

    /// <summary>An id out of a list element: a string, or a struct's id-like field (accession, id, ...), or its first string.</summary>
    private static string? IdOf(object? item)
    {
        if (item is IDictionary d)
        {
            foreach (var key in new[] { "accession", "id", "uniprot_id", "uniprot_accession", "uniref_id", "protein_id", "name" })
                if (d.Contains(key) && AsString(d[key]) is { Length: > 0 } id) return id;
            return d.Values.Cast<object?>().Select(AsString).FirstOrDefault(v => v is { Length: > 0 } && !double.TryParse(v, CultureInfo.InvariantCulture, out _));
        }
        return AsString(item)?.Trim();
    }

    private static string? AsString(object? value) => value switch
    {
        null => null,
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
        ReadOnlyMemory<byte> bytes => System.Text.Encoding.UTF8.GetString(bytes.Span),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>A list written as text: a JSON array, else items separated by commas, semicolons or white space.</summary>
    private static object?[] SplitText(string text)
    {
        text = text.Trim();
        if (text.StartsWith('['))
        {
            try
            {
                using var json = JsonDocument.Parse(text);
                return [.. json.RootElement.EnumerateArray().Select(JsonValue)];
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // not a JSON array after all: split it as plain text
            }
        }
        return text.Split([',', ';', ' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static object? JsonValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => JsonValue(p.Value)) as IDictionary,
        JsonValueKind.Null => null,
        _ => e.GetRawText(),
    };
}
