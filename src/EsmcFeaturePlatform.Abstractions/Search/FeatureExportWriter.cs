using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EsmcFeaturePlatform.Abstractions;

/// <summary>One row of a bulk export: a feature's current description, statistics and top example ids.</summary>
public sealed record FeatureExportRecord(
    string Sae,
    int Index,
    string? Label,
    string? Description,
    DescriptionStatus? Status,
    DescriptionSource? Source,
    double? Score,
    float? MaxActivation,
    int DocumentCount,
    int CorpusSize,
    double? Idf,
    IReadOnlyList<string> TopExampleIds);

/// <summary>Export formats; <see cref="Parquet"/> is written by the Corpus project's FeatureParquetWriter (Parquet.Net stays out of Abstractions).</summary>
public enum FeatureExportFormat
{
    /// <summary>One JSON object per line (<c>.jsonl</c>).</summary>
    JsonLines,
    /// <summary>RFC 4180 CSV with a header row (<c>.csv</c>).</summary>
    Csv,
    /// <summary>Apache Parquet (<c>.parquet</c>).</summary>
    Parquet,
}

/// <summary>
/// Streams export rows to a <see cref="Stream"/> as they arrive, so exporting a 131,072-feature SAE never holds
/// the whole set in memory. Rows are buffered only up to <see cref="FlushThresholdBytes"/> before being written
/// and flushed, which keeps HTTP responses flowing without a syscall per row.
/// </summary>
/// <remarks>
/// JSON Lines: one object per line with the camelCase keys of <see cref="Columns"/>; enums use the GraphQL
/// spelling (<c>APPROVED</c>, <c>HUMAN</c>); absent values and non-finite numbers are <c>null</c>.
/// CSV (RFC 4180): a header row, CRLF line ends, fields holding a comma, quote, CR or LF are quoted with inner
/// quotes doubled; an absent value is an empty field; top example ids are joined by a single space (FASTA ids
/// end at the first white space, so a space can never be part of one).
/// </remarks>
public static class FeatureExportWriter
{
    /// <summary>Bytes buffered before they are written and flushed.</summary>
    public const int FlushThresholdBytes = 64 * 1024;

    /// <summary>
    /// HTTP response header with the number of rows an export will hold, sent before the body, so a client can tell a
    /// complete download from one cut off at a row boundary.
    /// </summary>
    public const string FeatureCountHeader = "X-Esmc-Feature-Count";

    /// <summary>The export's fields, in order: JSON keys and CSV header alike.</summary>
    public static IReadOnlyList<string> Columns { get; } =
    [
        "sae", "index", "label", "description", "status", "source", "score",
        "maxActivation", "documentCount", "corpusSize", "idf", "topExampleIds",
    ];

    private static readonly JsonWriterOptions JsonOptions = new() { Indented = false, SkipValidation = false };

    /// <summary>The HTTP content type of an export in <paramref name="format"/>.</summary>
    public static string ContentType(FeatureExportFormat format) => format switch
    {
        FeatureExportFormat.JsonLines => "application/x-ndjson; charset=utf-8",
        FeatureExportFormat.Csv => "text/csv; charset=utf-8; header=present",
        FeatureExportFormat.Parquet => "application/vnd.apache.parquet",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
    };

    /// <summary>The file extension (without the dot) of an export in <paramref name="format"/>.</summary>
    public static string FileExtension(FeatureExportFormat format) => format switch
    {
        FeatureExportFormat.JsonLines => "jsonl",
        FeatureExportFormat.Csv => "csv",
        FeatureExportFormat.Parquet => "parquet",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
    };

    /// <summary>Accepts <c>jsonl</c>, <c>ndjson</c>, <c>json-lines</c>, <c>csv</c> and <c>parquet</c> (any case).</summary>
    public static FeatureExportFormat ParseFormat(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "jsonl" or "ndjson" or "json-lines" or "jsonlines" => FeatureExportFormat.JsonLines,
        "csv" => FeatureExportFormat.Csv,
        "parquet" => FeatureExportFormat.Parquet,
        _ => throw new ArgumentException($"Unknown export format '{value}'; use 'jsonl', 'csv' or 'parquet'.", nameof(value)),
    };

    /// <summary>Writes every record in order and returns how many were written. The stream is left open.</summary>
    public static async Task<long> WriteAsync(
        IAsyncEnumerable<FeatureExportRecord> records, Stream output, FeatureExportFormat format, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(output);
        if (format is not (FeatureExportFormat.JsonLines or FeatureExportFormat.Csv))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Text formats only; parquet is written by FeatureParquetWriter.");

        var buffer = new ArrayBufferWriter<byte>(FlushThresholdBytes * 2);
        var csvRow = new StringBuilder(512);
        using var json = new Utf8JsonWriter(buffer, JsonOptions);
        if (format == FeatureExportFormat.Csv)
        {
            csvRow.AppendJoin(',', Columns).Append("\r\n");
            AppendUtf8(buffer, csvRow);
        }

        long count = 0;
        await foreach (var record in records.WithCancellation(ct))
        {
            ArgumentNullException.ThrowIfNull(record);
            if (format == FeatureExportFormat.JsonLines)
            {
                WriteJson(json, record);
                json.Flush();
                json.Reset(buffer);
                buffer.Write("\n"u8);
            }
            else
            {
                csvRow.Clear();
                AppendCsv(csvRow, record);
                AppendUtf8(buffer, csvRow);
            }
            count++;
            if (buffer.WrittenCount >= FlushThresholdBytes)
            {
                await output.WriteAsync(buffer.WrittenMemory, ct);
                await output.FlushAsync(ct);
                buffer.ResetWrittenCount();
            }
        }
        if (buffer.WrittenCount > 0) await output.WriteAsync(buffer.WrittenMemory, ct);
        await output.FlushAsync(ct);
        return count;
    }

    private static void WriteJson(Utf8JsonWriter w, FeatureExportRecord r)
    {
        w.WriteStartObject();
        w.WriteString("sae", r.Sae);
        w.WriteNumber("index", r.Index);
        WriteStringOrNull(w, "label", r.Label);
        WriteStringOrNull(w, "description", r.Description);
        WriteStringOrNull(w, "status", r.Status is { } s ? FeatureIndexSchema.ToIndexValue(s) : null);
        WriteStringOrNull(w, "source", r.Source is { } src ? FeatureIndexSchema.ToIndexValue(src) : null);
        if (r.Score is { } score && double.IsFinite(score)) w.WriteNumber("score", score); else w.WriteNull("score");
        if (r.MaxActivation is { } max && float.IsFinite(max)) w.WriteNumber("maxActivation", max); else w.WriteNull("maxActivation");
        w.WriteNumber("documentCount", r.DocumentCount);
        w.WriteNumber("corpusSize", r.CorpusSize);
        if (r.Idf is { } idf && double.IsFinite(idf)) w.WriteNumber("idf", idf); else w.WriteNull("idf");
        w.WriteStartArray("topExampleIds");
        foreach (var id in r.TopExampleIds ?? []) w.WriteStringValue(id);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }

    private static void AppendCsv(StringBuilder row, FeatureExportRecord r)
    {
        AppendField(row, r.Sae).Append(',');
        row.Append(r.Index.ToString(CultureInfo.InvariantCulture)).Append(',');
        AppendField(row, r.Label).Append(',');
        AppendField(row, r.Description).Append(',');
        AppendField(row, r.Status is { } s ? FeatureIndexSchema.ToIndexValue(s) : null).Append(',');
        AppendField(row, r.Source is { } src ? FeatureIndexSchema.ToIndexValue(src) : null).Append(',');
        AppendField(row, r.Score is { } score && double.IsFinite(score) ? score.ToString("R", CultureInfo.InvariantCulture) : null).Append(',');
        AppendField(row, r.MaxActivation is { } max && float.IsFinite(max) ? max.ToString("R", CultureInfo.InvariantCulture) : null).Append(',');
        row.Append(r.DocumentCount.ToString(CultureInfo.InvariantCulture)).Append(',');
        row.Append(r.CorpusSize.ToString(CultureInfo.InvariantCulture)).Append(',');
        AppendField(row, r.Idf is { } idf && double.IsFinite(idf) ? idf.ToString("R", CultureInfo.InvariantCulture) : null).Append(',');
        AppendField(row, string.Join(' ', r.TopExampleIds ?? []));
        row.Append("\r\n");
    }

    /// <summary>RFC 4180 section 2.6/2.7: quote when the field holds a separator, quote or line break; double inner quotes.</summary>
    private static StringBuilder AppendField(StringBuilder row, string? value)
    {
        if (string.IsNullOrEmpty(value)) return row;
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0) return row.Append(value);
        row.Append('"');
        foreach (var c in value)
        {
            if (c == '"') row.Append('"');
            row.Append(c);
        }
        return row.Append('"');
    }

    private static void AppendUtf8(ArrayBufferWriter<byte> buffer, StringBuilder text)
    {
        // One string per row: StringBuilder chunks may split a surrogate pair, which per-chunk encoding would corrupt.
        var row = text.ToString();
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(row.Length));
        buffer.Advance(Encoding.UTF8.GetBytes(row, span));
    }
}
