using System.Text;
using EsmcFeaturePlatform.Corpus;

namespace EsmcFeaturePlatform.Core.Tests.Corpus;

public sealed class FastaReaderTests : IDisposable
{
    private readonly CorpusTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static async Task<List<ProteinRecord>> ReadAllAsync(string path, CorpusReadOptions? options = null)
    {
        var records = new List<ProteinRecord>();
        await foreach (var record in CorpusReader.ReadAsync(path, options ?? CorpusReadOptions.Strict))
            records.Add(record);
        return records;
    }

    private const string ThreeRecords =
        "\n>sp|P1|ONE first protein  \nMKV\nLLA\n\n>two\r\nAC DE\r\nFG\r\n>three\tdescribed by tab\nWWW\n";

    [Fact]
    public async Task Reads_multi_line_records_with_blank_lines_crlf_and_descriptions()
    {
        var records = await ReadAllAsync(_files.Write("three.fasta", ThreeRecords));

        Assert.Equal(["sp|P1|ONE", "two", "three"], records.Select(r => r.Id));
        Assert.Equal(["MKVLLA", "ACDEFG", "WWW"], records.Select(r => r.Sequence));
        Assert.Equal(["first protein", null, "described by tab"], records.Select(r => r.Description));
        Assert.Equal([1, 2, 3], records.Select(r => r.RecordNumber));
        Assert.All(records, r => Assert.Empty(r.Annotations));
    }

    [Fact]
    public async Task Gzip_is_detected_by_content_not_by_name()
    {
        var plain = await ReadAllAsync(_files.Write("plain.fa", ThreeRecords));
        var gzipNamedPlain = await ReadAllAsync(_files.WriteGzip("looks-plain.fa", ThreeRecords));
        var gzip = await ReadAllAsync(_files.WriteGzip("proper.fa.gz", ThreeRecords));

        Assert.Equal(plain.Select(r => (r.Id, r.Sequence)), gzipNamedPlain.Select(r => (r.Id, r.Sequence)));
        Assert.Equal(plain.Select(r => (r.Id, r.Sequence)), gzip.Select(r => (r.Id, r.Sequence)));
    }

    [Fact]
    public async Task Reads_from_a_non_seekable_stream()
    {
        using var stream = new NonSeekableStream(CorpusTestFiles.Gzip(Encoding.UTF8.GetBytes(ThreeRecords)));
        var ids = new List<string>();
        await foreach (var record in CorpusReader.ReadAsync(stream, "stdin"))
            ids.Add(record.Id);
        Assert.Equal(["sp|P1|ONE", "two", "three"], ids);
    }

    [Fact]
    public async Task Empty_file_has_no_records()
    {
        Assert.Empty(await ReadAllAsync(_files.Write("empty.fa", "")));
        Assert.Empty(await ReadAllAsync(_files.Write("blank.fa", "\n\n  \n")));
    }

    [Fact]
    public async Task Record_without_sequence_is_an_error_naming_file_line_and_record()
    {
        var path = _files.Write("noseq.fa", ">a\nMKV\n>b empty one\n\n>c\nAAA\n");
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));

        Assert.Equal(path, ex.Source);
        Assert.Equal(3, ex.Line);
        Assert.Equal("b", ex.RecordId);
        Assert.True(ex.IsRecordLevel);
        Assert.Contains("noseq.fa:3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no sequence", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Header_with_empty_id_is_an_error()
    {
        var path = _files.Write("noid.fa", ">a\nMKV\n>\nAAA\n");
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Equal(3, ex.Line);
        Assert.Contains("empty id", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplicate_ids_are_an_error_by_default_and_allowed_on_request()
    {
        var path = _files.Write("dup.fa", ">a\nMKV\n>b\nAAA\n>a\nGGG\n");

        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Equal(5, ex.Line);
        Assert.Equal("a", ex.RecordId);
        Assert.Contains("duplicate id (first seen at line 1)", ex.Message, StringComparison.Ordinal);

        var all = await ReadAllAsync(path, new CorpusReadOptions { AllowDuplicateIds = true });
        Assert.Equal(["MKV", "AAA", "GGG"], all.Select(r => r.Sequence));
    }

    [Fact]
    public async Task Invalid_records_can_be_skipped_and_are_reported()
    {
        var path = _files.Write("mixed.fa", ">a\nMKV\n>empty\n>\nQQ\n>a\nGGG\n>d\nDDD\n");
        var skipped = new List<CorpusFormatException>();

        var records = await ReadAllAsync(path, new CorpusReadOptions { OnInvalidRecord = skipped.Add });

        Assert.Equal(["a", "d"], records.Select(r => r.Id));
        Assert.Equal([1, 5], records.Select(r => r.RecordNumber));
        Assert.Equal([3L, 4L, 6L], skipped.Select(s => s.Line));
        Assert.All(skipped, s => Assert.True(s.IsRecordLevel));
    }

    [Fact]
    public async Task Sequence_before_any_header_is_rejected()
    {
        var path = _files.Write("headerless.fa", "\nMKVLLAGG\n>a\nAAA\n");
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Equal(2, ex.Line);
        Assert.False(ex.IsRecordLevel);
        Assert.Contains("found 'MKVLLAGG'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_garbage_is_rejected_even_when_skipping_invalid_records()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        garbage[0] = (byte)'>';
        garbage[1] = (byte)'x';
        garbage[2] = (byte)'\n';
        var path = _files.WriteBytes("garbage.fa", garbage);

        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() =>
            ReadAllAsync(path, new CorpusReadOptions { OnInvalidRecord = _ => { } }));
        Assert.Contains("binary data", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsRecordLevel);
    }

    [Theory]
    [InlineData(2)] // cut in the middle of the deflate data
    [InlineData(-4)] // cut inside the 8-byte trailer: every residue decompresses, the file is still incomplete
    [InlineData(-9)] // cut just before the trailer
    public async Task Truncated_gzip_is_an_error_not_a_shorter_corpus(int cut)
    {
        var text = new StringBuilder();
        var random = new Random(3);
        for (var i = 0; i < 2000; i++)
            text.Append('>').Append("seq").Append(i).Append('\n').Append(new string('A', 20 + random.Next(200))).Append('\n');
        var full = CorpusTestFiles.Gzip(Encoding.UTF8.GetBytes(text.ToString()));
        var keep = cut > 0 ? full.Length / cut : full.Length + cut;
        var path = _files.WriteBytes("truncated.fa.gz", full[..keep]);

        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Contains("gzip", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated.fa.gz", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Multi_member_gzip_is_refused_clearly()
    {
        var twoMembers = CorpusTestFiles.Gzip(Encoding.UTF8.GetBytes(">a\nMKV\n"))
            .Concat(CorpusTestFiles.Gzip(Encoding.UTF8.GetBytes(">b\nAAA\n"))).ToArray();
        var path = _files.WriteBytes("members.fa.gz", twoMembers);
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Contains("multi-member", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Corrupt_gzip_body_is_an_error()
    {
        var full = CorpusTestFiles.Gzip(Encoding.UTF8.GetBytes(ThreeRecords));
        for (var i = 10; i < full.Length - 8; i++) full[i] ^= 0x5a;
        var path = _files.WriteBytes("corrupt.fa.gz", full);

        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Contains("corrupt.fa.gz", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_file_and_directory_are_named_in_the_error()
    {
        var missing = Path.Combine(Path.GetTempPath(), "esmc-does-not-exist-" + Guid.NewGuid() + ".fa");
        var notFound = await Assert.ThrowsAsync<FileNotFoundException>(() => ReadAllAsync(missing));
        Assert.Contains(missing, notFound.Message, StringComparison.Ordinal);

        var directory = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(Path.GetTempPath()));
        Assert.Contains("is a directory", directory.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Records_stream_one_at_a_time()
    {
        // The reader must hand out the first record before it has read the rest: cancel after the first
        // and the enumeration stops without touching the bad tail of the file.
        var path = _files.Write("stream.fa", ">a\nMKV\n>b\nAAA\n>\n");
        using var cts = new CancellationTokenSource();
        var seen = new List<string>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var record in CorpusReader.ReadAsync(path, cts.Token))
            {
                seen.Add(record.Id);
                await cts.CancelAsync();
            }
        });
        Assert.Equal(["a"], seen);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}
