using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Corpus.FeatureDatasets;
using Parquet.Serialization;
using Xunit;

namespace EsmcFeaturePlatform.Core.Tests.Corpus;

/// <summary>
/// The feature dataset reader on files other libraries wrote (tests/fixtures/feature-dataset: ParquetSharp, i.e. Arrow
/// C++, and the npm hyparquet-writer; see the README there), and the parquet export read back.
/// </summary>
public sealed class FeatureDatasetReaderTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "feature-dataset");
    private readonly string folder = Directory.CreateTempSubdirectory("esmc-datasets-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public async Task Reads_the_Biohub_schema_written_by_Arrow_by_column_name_in_row_groups()
    {
        var reader = await FeatureDatasetReader.OpenAsync(Path.Combine(Fixtures, "esmc-tiny-features.parquet"));

        Assert.Equal([32L, 32L], reader.RowGroupRows);
        var rows = (await reader.ReadRowGroupAsync(0, 64)).Concat(await reader.ReadRowGroupAsync(1, 64)).ToList();
        Assert.Equal(Enumerable.Range(0, 64), rows.Select(r => r.Index));
        var zinc = rows[7];
        Assert.Equal("C2H2 zinc finger", zinc.Summary);
        Assert.Equal(("C2H2 zinc finger", zinc.Description!), zinc.DescriptionVersion());
        Assert.Equal("Composition bias", zinc.Category);
        Assert.Equal("whole domain", zinc.ActivationPattern);
        Assert.Equal(["Zinc finger C2H2-type", "KRAB domain"], zinc.ExemplarFamilies!);
        Assert.Equal(50 + 37 * 7, zinc.Frequency);
        Assert.Equal(Math.Log(1_000_000.0 / (50 + 37 * 7)), zinc.Idf!.Value, 12);
        Assert.Equal(1.5 + 0.25 * 7, zinc.MaxActivation);
        Assert.Equal(0.1, zinc.Threshold);
        Assert.Equal(["UniRef90_A0A007XYZ1", "UniRef90_P00007"], zinc.TopUniRefIds!);
        Assert.Equal(["P08047", "Q9Y2X9"], zinc.TopSwissProtIds!);
        Assert.Equal([8, 12], zinc.NearestNeighbors!);
        Assert.Equal([], rows[0].ExemplarFamilies!);          // an empty list, not an absent column
        Assert.Null(rows[60].MaxActivation);                  // a null in a present column
    }

    [Fact]
    public async Task Reads_lists_stored_as_JSON_text_and_structs_with_an_id_field_and_accepts_index_aliases()
    {
        var reader = await FeatureDatasetReader.OpenAsync(Path.Combine(Fixtures, "hyparquet-json-lists.parquet"));

        var rows = await reader.ReadRowGroupAsync(0, 16);
        Assert.Equal([3, 9], rows.Select(r => r.Index));
        Assert.Equal(["P69905", "P68871"], rows[0].TopSwissProtIds!);
        Assert.Equal([], rows[1].TopSwissProtIds!);
        Assert.Equal([4, 5], rows[0].NearestNeighbors!);
        Assert.Null(rows[0].Category);                        // no such column: left as it is on import
        Assert.Equal(4.0, rows[0].MaxActivation);
        Assert.Equal(("Fires on signal peptides", "Fires on signal peptides."), rows[1].DescriptionVersion());
    }

    [Fact]
    public async Task Bad_files_are_errors_that_say_what_was_found()
    {
        var v2 = await FeatureDatasetReader.OpenAsync(Path.Combine(Fixtures, "hyparquet-v2-lists.parquet"));
        var unreadable = await Assert.ThrowsAsync<FormatException>(() => v2.ReadRowGroupAsync(0, 16));
        Assert.Contains("hyparquet-v2-lists.parquet: row group 0 cannot be read", unreadable.Message, StringComparison.Ordinal);

        var noIndex = Path.Combine(folder, "no-index.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new Unindexed { label = "x", colour = "red" } }, noIndex);
        var missing = await Assert.ThrowsAsync<FormatException>(() => FeatureDatasetReader.OpenAsync(noIndex));
        Assert.Contains("no feature index column", missing.Message, StringComparison.Ordinal);
        Assert.Contains("the file's columns are: label, colour", missing.Message, StringComparison.Ordinal);

        var nothingKnown = Path.Combine(folder, "nothing-known.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new UnknownColumns { index = 1, colour = "red" } }, nothingKnown);
        var unknown = await Assert.ThrowsAsync<FormatException>(() => FeatureDatasetReader.OpenAsync(nothingKnown));
        Assert.Contains("none of the known data columns", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("index, colour", unknown.Message, StringComparison.Ordinal);

        var notParquet = Path.Combine(folder, "text.parquet");
        await File.WriteAllTextAsync(notParquet, "feature_index,description\n1,x\n");
        var garbage = await Assert.ThrowsAsync<FormatException>(() => FeatureDatasetReader.OpenAsync(notParquet));
        Assert.Contains("not a readable parquet file", garbage.Message, StringComparison.Ordinal);

        var outside = await FeatureDatasetReader.OpenAsync(Path.Combine(Fixtures, "esmc-tiny-features.parquet"));
        var range = await Assert.ThrowsAsync<FormatException>(() => outside.ReadRowGroupAsync(1, 40));
        Assert.Contains("row group 1, row 8: feature index 40 is outside the SAE's codebook of 40 features", range.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_parquet_export_is_written_forward_only_in_row_groups_and_reads_back_as_a_dataset()
    {
        var records = Enumerable.Range(0, 10).Select(i => new FeatureExportRecord("S/layer1", i, i % 3 == 0 ? null : $"label {i}", i % 3 == 0 ? null : $"text {i}",
            i % 3 == 0 ? null : DescriptionStatus.Proposed, i % 3 == 0 ? null : DescriptionSource.Imported, null, i % 2 == 0 ? 1.5f * i : null, i, 100, null,
            i % 4 == 0 ? [] : [$"p{i}", $"q{i}"])).ToList();
        var path = Path.Combine(folder, "export.parquet");
        await using (var file = File.Create(path))
        await using (var forwardOnly = new ForwardOnlyStream(file))
            Assert.Equal(10, await FeatureParquetWriter.WriteAsync(ToAsync(records), forwardOnly, rowGroupRows: 4));

        Assert.Equal(10, await FeatureParquetWriter.CountRowsAsync(path));
        var reader = await FeatureDatasetReader.OpenAsync(path);
        Assert.Equal([4L, 4L, 2L], reader.RowGroupRows);
        var rows = (await reader.ReadRowGroupAsync(0, 10)).Concat(await reader.ReadRowGroupAsync(1, 10)).Concat(await reader.ReadRowGroupAsync(2, 10)).ToList();
        Assert.Equal(Enumerable.Range(0, 10), rows.Select(r => r.Index));
        Assert.Equal(("label 4", "text 4"), rows[4].DescriptionVersion());
        Assert.Null(rows[3].DescriptionVersion());
        await using var stream = File.OpenRead(path);
        var table = await ParquetSerializer.DeserializeUntypedAsync(stream);
        Assert.Equal(FeatureExportWriter.Columns, table.Schema.Fields.Select(f => f.Name));
        Assert.Equal(6f, (float)table.Data[4]["maxActivation"]);
        Assert.False(table.Data[3].ContainsKey("maxActivation"));   // null
    }

    private static async IAsyncEnumerable<FeatureExportRecord> ToAsync(IEnumerable<FeatureExportRecord> records)
    {
        foreach (var record in records)
        {
            await Task.Yield();
            yield return record;
        }
    }

#pragma warning disable IDE1006 // column names as files spell them
    private sealed class Unindexed
    {
        public string? label { get; set; }
        public string? colour { get; set; }
    }

    private sealed class UnknownColumns
    {
        public int index { get; set; }
        public string? colour { get; set; }
    }
#pragma warning restore IDE1006

    /// <summary>What an HTTP response body is like: no seeking, no reading, no length.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => throw new InvalidOperationException("synchronous I/O");
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("synchronous I/O");
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
    }
}
