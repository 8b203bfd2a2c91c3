using System.IO.Compression;
using System.Text;
using EsmcFeaturePlatform.Corpus;

namespace EsmcFeaturePlatform.Core.Tests.Corpus;

/// <summary>
/// Issue 15: a corpus file cannot make the reader hold more than a line's worth of memory or read without end. Before,
/// /dev/zero, a sparse file and gzip bombs were read as one endless line until memory ran out.
/// </summary>
public sealed class CorpusLimitTests : IDisposable
{
    private readonly CorpusTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static async Task<int> CountAsync(string path, CorpusReadOptions options)
    {
        var count = 0;
        await foreach (var _ in CorpusReader.ReadAsync(path, options)) count++;
        return count;
    }

    [Fact]
    public async Task A_gzip_bomb_stops_at_the_decompressed_size_limit()
    {
        // 64 MB of valid FASTA in about 100 KB of gzip.
        var path = Path.Combine(Path.GetTempPath(), $"esmc-bomb-{Guid.NewGuid():N}.fa.gz");
        try
        {
            var line = Encoding.ASCII.GetBytes(">p\n" + new string('A', 1021) + "\n");
            await using (var file = File.Create(path))
            await using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
                for (var i = 0; i < 64 * 1024; i++) gzip.Write(line);
            Assert.True(new FileInfo(path).Length < 1 << 20);
            var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => CountAsync(path, new CorpusReadOptions { AllowDuplicateIds = true, MaxTextBytes = 4 << 20 }));
            Assert.Contains("longer than 4,194,304 bytes", ex.Message);
            Assert.False(ex.IsRecordLevel);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_file_without_line_breaks_stops_at_the_line_limit()
    {
        var zeros = _files.WriteBytes("zeros.fa", new byte[3 << 20]);
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => CountAsync(zeros, new CorpusReadOptions { MaxLineBytes = 1 << 20 }));
        Assert.Contains("a line is longer than 1,048,576 bytes", ex.Message);
        var longSequence = _files.WriteGzip("long.fa.gz", ">p\n" + new string('M', 2 << 20) + "\n");
        await Assert.ThrowsAsync<CorpusFormatException>(() => CountAsync(longSequence, new CorpusReadOptions { MaxLineBytes = 1 << 20 }));
        // Lines up to the limit are read as usual.
        var fine = _files.Write("fine.fa", ">p\n" + new string('M', 60_000) + "\n>q\nMKT\n");
        Assert.Equal(2, await CountAsync(fine, new CorpusReadOptions { MaxLineBytes = 60_000 }));
    }

    [Fact]
    public async Task Errors_quote_no_line_of_the_file_when_asked_not_to()
    {
        var secret = _files.Write("secret.txt", "root:x:0:0:root:/root:/bin/bash\n");
        var quoted = await Assert.ThrowsAsync<CorpusFormatException>(() => CountAsync(secret, CorpusReadOptions.Strict));
        Assert.Contains("root:x:0", quoted.Message);
        var hidden = await Assert.ThrowsAsync<CorpusFormatException>(() => CountAsync(secret, new CorpusReadOptions { QuoteContent = false }));
        Assert.DoesNotContain("root:x", hidden.Message);
        Assert.Contains("expected a FASTA header", hidden.Message);
    }
}
