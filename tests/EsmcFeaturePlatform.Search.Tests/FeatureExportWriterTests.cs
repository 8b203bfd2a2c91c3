using System.Globalization;
using System.Text;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using Xunit;

namespace EsmcFeaturePlatform.Search.Tests;

public sealed class FeatureExportWriterTests
{
    private static readonly FeatureExportRecord[] Tricky =
    [
        new("ESMC-300M-sae-k64-codebook16384/layer30", 0, "Zinc finger, C2H2", "Binds \"zinc\" ions,\r\nthen DNA.\nMultiline.",
            DescriptionStatus.Approved, DescriptionSource.Human, 0.875, 12.5f, 40, 1000, Math.Log(1000.0 / 40), ["sp|P12345|ZNF1_HUMAN", "q2"]),
        new("ESMC-300M-sae-k64-codebook16384/layer30", 1, null, null, null, null, null, null, 0, 1000, null, []),
        new("ESMC-300M-sae-k64-codebook16384/layer30", 2, "Ünïcödé 🧬 label", "  leading and trailing spaces  ",
            DescriptionStatus.Proposed, DescriptionSource.Agent, double.NaN, 0.1f, 1, 1000, Math.Log(1000.0), ["only"]),
    ];

    [Fact]
    public async Task Json_lines_hold_one_object_per_record_with_every_column()
    {
        using var output = new MemoryStream();

        var written = await FeatureExportWriter.WriteAsync(Tricky.ToAsyncEnumerable(), output, FeatureExportFormat.JsonLines);

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n');
        Assert.Equal(Tricky.Length, written);
        Assert.Equal(Tricky.Length + 1, lines.Length);
        Assert.Equal("", lines[^1]);
        for (var i = 0; i < Tricky.Length; i++)
        {
            using var json = JsonDocument.Parse(lines[i]);
            var o = json.RootElement;
            var r = Tricky[i];
            Assert.Equal(FeatureExportWriter.Columns, o.EnumerateObject().Select(p => p.Name));
            Assert.Equal(r.Sae, o.GetProperty("sae").GetString());
            Assert.Equal(r.Index, o.GetProperty("index").GetInt32());
            Assert.Equal(r.Label, o.GetProperty("label").GetString());
            Assert.Equal(r.Description, o.GetProperty("description").GetString());
            Assert.Equal(r.Status?.ToString().ToUpperInvariant(), o.GetProperty("status").GetString());
            Assert.Equal(r.Source?.ToString().ToUpperInvariant(), o.GetProperty("source").GetString());
            Assert.Equal(r.Score is { } s && double.IsFinite(s) ? s : null, NullableDouble(o.GetProperty("score")));
            Assert.Equal(r.MaxActivation, o.GetProperty("maxActivation").ValueKind == JsonValueKind.Null ? null : o.GetProperty("maxActivation").GetSingle());
            Assert.Equal(r.DocumentCount, o.GetProperty("documentCount").GetInt32());
            Assert.Equal(r.CorpusSize, o.GetProperty("corpusSize").GetInt32());
            Assert.Equal(r.Idf, NullableDouble(o.GetProperty("idf")));
            Assert.Equal(r.TopExampleIds, o.GetProperty("topExampleIds").EnumerateArray().Select(e => e.GetString()));
        }
    }

    [Fact]
    public async Task Csv_follows_rfc_4180_and_parses_back_to_the_same_values()
    {
        using var output = new MemoryStream();

        await FeatureExportWriter.WriteAsync(Tricky.ToAsyncEnumerable(), output, FeatureExportFormat.Csv);

        var text = Encoding.UTF8.GetString(output.ToArray());
        var rows = ParseRfc4180(text);
        Assert.Equal(FeatureExportWriter.Columns, rows[0]);
        Assert.Equal(Tricky.Length + 1, rows.Count);
        for (var i = 0; i < Tricky.Length; i++)
        {
            var r = Tricky[i];
            var expected = new[]
            {
                r.Sae, r.Index.ToString(CultureInfo.InvariantCulture), r.Label ?? "", r.Description ?? "",
                r.Status?.ToString().ToUpperInvariant() ?? "", r.Source?.ToString().ToUpperInvariant() ?? "",
                r.Score is { } s && double.IsFinite(s) ? s.ToString("R", CultureInfo.InvariantCulture) : "",
                r.MaxActivation?.ToString("R", CultureInfo.InvariantCulture) ?? "",
                r.DocumentCount.ToString(CultureInfo.InvariantCulture), r.CorpusSize.ToString(CultureInfo.InvariantCulture),
                r.Idf?.ToString("R", CultureInfo.InvariantCulture) ?? "", string.Join(' ', r.TopExampleIds),
            };
            Assert.Equal(expected, rows[i + 1]);
        }
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        Assert.Contains("\"Binds \"\"zinc\"\" ions,\r\nthen DNA.\nMultiline.\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_reach_the_stream_before_the_source_is_exhausted()
    {
        var output = new RecordingStream();
        var bytesSeenWhileProducing = new List<long>();

        async IAsyncEnumerable<FeatureExportRecord> Produce()
        {
            for (var i = 0; i < 5_000; i++)
            {
                await Task.Yield();
                if (i % 1000 == 0) bytesSeenWhileProducing.Add(output.BytesWritten);
                yield return new FeatureExportRecord("sae/layer1", i, $"label {i}", new string('d', 200), null, null, null, null, 1, 10, null, ["a", "b"]);
            }
        }

        var written = await FeatureExportWriter.WriteAsync(Produce(), output, FeatureExportFormat.JsonLines);

        Assert.Equal(5_000, written);
        // Later checkpoints saw data already written: the writer does not wait for the end to emit anything.
        Assert.True(bytesSeenWhileProducing[^1] > 0);
        Assert.True(output.LargestWrite <= FeatureExportWriter.FlushThresholdBytes * 2, $"one write of {output.LargestWrite} bytes: rows were buffered");
        Assert.True(output.Flushes > 1);
    }

    [Theory]
    [InlineData("jsonl", FeatureExportFormat.JsonLines)]
    [InlineData("NDJSON", FeatureExportFormat.JsonLines)]
    [InlineData(" csv ", FeatureExportFormat.Csv)]
    public void Formats_parse_from_their_usual_names(string name, FeatureExportFormat expected) =>
        Assert.Equal(expected, FeatureExportWriter.ParseFormat(name));

    [Fact]
    public void An_unknown_format_names_itself_in_the_error()
    {
        var error = Assert.Throws<ArgumentException>(() => FeatureExportWriter.ParseFormat("xlsx"));
        Assert.Contains("xlsx", error.Message, StringComparison.Ordinal);
    }

    private static double? NullableDouble(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble();

    /// <summary>A deliberately separate, character-level RFC 4180 reader, so the writer is not checked against itself.</summary>
    private static List<string[]> ParseRfc4180(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (text[i] == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; }
                    else if (text[i] == '"') { i++; break; }
                    else field.Append(text[i++]);
                }
            }
            else if (text[i] == ',') { row.Add(field.ToString()); field.Clear(); i++; }
            else if (text[i] == '\r' && text[i + 1] == '\n')
            {
                row.Add(field.ToString()); field.Clear(); rows.Add([.. row]); row.Clear(); i += 2;
            }
            else field.Append(text[i++]);
        }
        Assert.Empty(row);
        return rows;
    }

    private sealed class RecordingStream : MemoryStream
    {
        public long BytesWritten => Length;
        public int LargestWrite { get; private set; }
        public int Flushes { get; private set; }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            LargestWrite = Math.Max(LargestWrite, buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            return base.FlushAsync(cancellationToken);
        }
    }
}
