using EsmcFeaturePlatform.Abstractions;
using Parquet;
using Parquet.Schema;

namespace EsmcFeaturePlatform.Corpus.FeatureDatasets;

/// <summary>
/// The bulk export as parquet: the columns of <see cref="FeatureExportWriter.Columns"/> (the JSON Lines export's), typed
/// (integers as INT32, the maximum as FLOAT, score and idf as DOUBLE, text as UTF-8 strings, absent values as nulls,
/// <c>topExampleIds</c> as a LIST of strings), written one row group of <see cref="RowGroupRows"/> features at a time as
/// the records arrive. Parquet.Net writes a row group synchronously into a buffer here, which is then copied to the
/// output asynchronously, so memory holds one row group and an HTTP response (no synchronous I/O allowed) works.
/// </summary>
public static class FeatureParquetWriter
{
    public const int RowGroupRows = 4096;
    public const string ContentType = "application/vnd.apache.parquet";

    private static readonly DataField<string> Sae = new("sae");
    private static readonly DataField<int> Index = new("index");
    private static readonly DataField<string> Label = new("label", true);
    private static readonly DataField<string> Description = new("description", true);
    private static readonly DataField<string> Status = new("status", true);
    private static readonly DataField<string> Source = new("source", true);
    private static readonly DataField<double?> Score = new("score");
    private static readonly DataField<float?> MaxActivation = new("maxActivation");
    private static readonly DataField<int> DocumentCount = new("documentCount");
    private static readonly DataField<int> CorpusSize = new("corpusSize");
    private static readonly DataField<double?> Idf = new("idf");
    private static readonly DataField<string> TopExampleId = new("element", true);
    private static readonly ListField TopExampleIds = new("topExampleIds", TopExampleId);

    /// <summary>The export's schema, in <see cref="FeatureExportWriter.Columns"/> order.</summary>
    public static ParquetSchema Schema { get; } =
        new(Sae, Index, Label, Description, Status, Source, Score, MaxActivation, DocumentCount, CorpusSize, Idf, TopExampleIds);

    /// <summary>Writes every record in order and returns how many were written. The stream is left open.</summary>
    public static async Task<long> WriteAsync(IAsyncEnumerable<FeatureExportRecord> records, Stream output, int rowGroupRows = RowGroupRows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(output);
        var buffer = new BufferedForwardStream();
        long count = 0;
        await using (var writer = await ParquetWriter.CreateAsync(Schema, buffer, cancellationToken: ct))
        {
            var batch = new List<FeatureExportRecord>(rowGroupRows);
            await foreach (var record in records.WithCancellation(ct))
            {
                batch.Add(record);
                if (batch.Count < rowGroupRows) continue;
                await WriteRowGroupAsync(writer, batch, ct);
                count += batch.Count;
                batch.Clear();
                await buffer.DrainAsync(output, ct);
            }
            // An empty export still gets one (empty) row group, so every reader sees the schema the same way.
            if (batch.Count > 0 || count == 0)
            {
                await WriteRowGroupAsync(writer, batch, ct);
                count += batch.Count;
            }
        }
        await buffer.DrainAsync(output, ct);
        return count;
    }

    /// <summary>Rows in a parquet file, from its footer (a cut-off download has none and fails here).</summary>
    public static async Task<long> CountRowsAsync(string path, CancellationToken ct = default)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct);
        return Enumerable.Range(0, reader.RowGroupCount).Sum(i => reader.RowGroups[i].RowCount);
    }

    private static async Task WriteRowGroupAsync(ParquetWriter writer, List<FeatureExportRecord> rows, CancellationToken ct)
    {
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(Sae, rows.Select(r => r.Sae).ToArray());
        await group.WriteAsync<int>(Index, rows.Select(r => r.Index).ToArray(), null, null, ct);
        await group.WriteAsync(Label, rows.Select(r => r.Label).ToArray());
        await group.WriteAsync(Description, rows.Select(r => r.Description).ToArray());
        await group.WriteAsync(Status, rows.Select(r => r.Status is { } s ? FeatureIndexSchema.ToIndexValue(s) : null).ToArray());
        await group.WriteAsync(Source, rows.Select(r => r.Source is { } s ? FeatureIndexSchema.ToIndexValue(s) : null).ToArray());
        await group.WriteAsync<double>(Score, rows.Select(r => r.Score is { } v && double.IsFinite(v) ? v : (double?)null).ToArray(), null, null, ct);
        await group.WriteAsync<float>(MaxActivation, rows.Select(r => r.MaxActivation is { } v && float.IsFinite(v) ? v : (float?)null).ToArray(), null, null, ct);
        await group.WriteAsync<int>(DocumentCount, rows.Select(r => r.DocumentCount).ToArray(), null, null, ct);
        await group.WriteAsync<int>(CorpusSize, rows.Select(r => r.CorpusSize).ToArray(), null, null, ct);
        await group.WriteAsync<double>(Idf, rows.Select(r => r.Idf is { } v && double.IsFinite(v) ? v : (double?)null).ToArray(), null, null, ct);
        // A LIST column as parquet encodes it: the ids of all rows in one run, a repetition level 0 where a row starts and
        // 1 inside it, and definition levels 3 (an id), 1 (a present but empty list).
        var ids = new List<ReadOnlyMemory<char>>();
        var definition = new List<int>();
        var repetition = new List<int>();
        foreach (var row in rows)
        {
            var list = row.TopExampleIds ?? [];
            if (list.Count == 0)
            {
                definition.Add(1);
                repetition.Add(0);
                continue;
            }
            for (var i = 0; i < list.Count; i++)
            {
                ids.Add(list[i].AsMemory());
                definition.Add(3);
                repetition.Add(i == 0 ? 0 : 1);
            }
        }
        await group.WriteAllPartsAsync<ReadOnlyMemory<char>>(TopExampleId, ids.ToArray(), definition.ToArray(), repetition.ToArray(), ct);
        group.CompleteValidate();
    }

    /// <summary>A write-only stream that keeps what Parquet.Net writes (it tracks Position, never seeks) until drained.</summary>
    private sealed class BufferedForwardStream : Stream
    {
        private readonly MemoryStream pending = new();
        private long position;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => position;

        public override long Position
        {
            get => position;
            set => throw new NotSupportedException("the parquet export is written forward only");
        }

        public async Task DrainAsync(Stream output, CancellationToken ct)
        {
            if (pending.Length == 0) return;
            await output.WriteAsync(pending.GetBuffer().AsMemory(0, (int)pending.Length), ct);
            await output.FlushAsync(ct);
            pending.SetLength(0);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            pending.Write(buffer);
            position += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush() { }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("the parquet export is written forward only");

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
