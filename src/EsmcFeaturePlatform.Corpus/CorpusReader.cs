using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;

namespace EsmcFeaturePlatform.Corpus;

/// <summary>How a reader treats problems that concern a single record.</summary>
public sealed record CorpusReadOptions
{
    /// <summary>
    /// Duplicate ids within one file are an error by default: an index is idempotent by id, so a second record
    /// with the same id would be silently ignored downstream. Callers that knowingly want every record set this.
    /// </summary>
    public bool AllowDuplicateIds { get; init; }

    /// <summary>
    /// When set, a record-level problem (<see cref="CorpusFormatException.IsRecordLevel"/>: empty sequence, empty id,
    /// duplicate id, invalid characters) is reported here and the record is skipped; when null it is thrown.
    /// Problems with the file itself are always thrown.
    /// </summary>
    public Action<CorpusFormatException>? OnInvalidRecord { get; init; }

    /// <summary>Longest line, in bytes: a longer one (an endless line, a file of zeros) is a file-level error, read no further.</summary>
    public int MaxLineBytes { get; init; } = 1 << 20;

    /// <summary>Most bytes of text read (after gzip decompression): a gzip bomb is a file-level error at this point.</summary>
    public long MaxTextBytes { get; init; } = long.MaxValue;

    /// <summary>
    /// Whether errors may quote a line of the file (40 characters). The command line does (it is the user's own file);
    /// the server does not, since its errors reach API callers.
    /// </summary>
    public bool QuoteContent { get; init; } = true;

    public static CorpusReadOptions Strict { get; } = new();
}

/// <summary>
/// Reads protein corpora one record at a time (never the whole file in memory). The format is detected from the
/// content, not the file name: gzip by its magic bytes, then FASTA (first non-blank line starts with '&gt;') or
/// UniProt flat file (first line starts with "ID   ").
/// </summary>
public static class CorpusReader
{
    public static IAsyncEnumerable<ProteinRecord> ReadAsync(string path, CancellationToken cancellationToken = default) =>
        ReadAsync(path, CorpusReadOptions.Strict, cancellationToken);

    public static async IAsyncEnumerable<ProteinRecord> ReadAsync(
        string path, CorpusReadOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
            throw new CorpusFormatException(path, 0, null, "is a directory, not a FASTA or UniProt file");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Corpus file '{path}' does not exist.", path);

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var record in ReadAsync(stream, path, options, cancellationToken).ConfigureAwait(false))
                yield return record;
        }
    }

    public static IAsyncEnumerable<ProteinRecord> ReadAsync(Stream stream, string displayName, CancellationToken cancellationToken = default) =>
        ReadAsync(stream, displayName, CorpusReadOptions.Strict, cancellationToken);

    public static async IAsyncEnumerable<ProteinRecord> ReadAsync(
        Stream stream, string displayName, CorpusReadOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(displayName);
        ArgumentNullException.ThrowIfNull(options);

        var text = await OpenTextAsync(stream, cancellationToken).ConfigureAwait(false);
        var lines = new LineSource(new BoundedTextStream(text.Stream, options.MaxLineBytes, options.MaxTextBytes), displayName, text.Compressed, options.QuoteContent);
        var first = await lines.PeekNonBlankAsync(cancellationToken).ConfigureAwait(false);
        if (first is null)
            yield break;

        IAsyncEnumerable<ProteinRecord> records;
        if (first.StartsWith('>'))
            records = FastaParser.ParseAsync(lines, options, cancellationToken);
        else if (first.StartsWith("ID   ", StringComparison.Ordinal))
            records = UniProtParser.ParseAsync(lines, options, cancellationToken);
        else
            throw new CorpusFormatException(displayName, lines.LineNumber + 1, null,
                $"expected a FASTA header ('>id description') or a UniProt 'ID' line, found {lines.Preview(first)}");

        await foreach (var record in records.ConfigureAwait(false))
            yield return record;
    }

    private static async Task<(Stream Stream, bool Compressed)> OpenTextAsync(Stream stream, CancellationToken cancellationToken)
    {
        var magic = new byte[2];
        var read = 0;
        while (read < magic.Length)
        {
            var n = await stream.ReadAsync(magic.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }
        Stream rejoined = new PrefixedStream(magic.AsMemory(0, read).ToArray(), stream);
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            var compressed = new TailRecordingStream(rejoined);
            return (new GzipIntegrityStream(new GZipStream(compressed, CompressionMode.Decompress), compressed), true);
        }
        return (rejoined, false);
    }
}

/// <summary>
/// Lines with their 1-based numbers, and the checks every format needs: text only (binary data or invalid UTF-8
/// is a file-level error), and a gzip stream that ends where its trailer says.
/// </summary>
internal sealed class LineSource(Stream stream, string source, bool compressed, bool quoteContent = true)
{
    private readonly StreamReader _reader = new(stream, new UTF8Encoding(false, throwOnInvalidBytes: false), false, 1 << 16);
    private string? _peeked;
    private bool _hasPeeked;

    public string Source { get; } = source;

    /// <summary>Number of the line most recently returned by <see cref="ReadAsync"/>.</summary>
    public long LineNumber { get; private set; }

    public async ValueTask<string?> ReadAsync(CancellationToken cancellationToken)
    {
        // Buffered reads complete synchronously without looking at the token; check it once per line.
        cancellationToken.ThrowIfCancellationRequested();
        if (_hasPeeked)
        {
            _hasPeeked = false;
            LineNumber++;
            return _peeked;
        }
        var line = await ReadRawAsync(cancellationToken).ConfigureAwait(false);
        if (line is not null) LineNumber++;
        return line;
    }

    /// <summary>Skips blank lines and returns the next non-blank one without consuming it.</summary>
    public async ValueTask<string?> PeekNonBlankAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!_hasPeeked)
            {
                _peeked = await ReadRawAsync(cancellationToken).ConfigureAwait(false);
                _hasPeeked = true;
            }
            if (_peeked is null || !string.IsNullOrWhiteSpace(_peeked)) return _peeked;
            _hasPeeked = false;
            LineNumber++;
        }
    }

    public CorpusFormatException Error(string? recordId, string reason, bool recordLevel = false, long? line = null) =>
        new(Source, line ?? LineNumber, recordId, reason) { IsRecordLevel = recordLevel };

    private async ValueTask<string?> ReadRawAsync(CancellationToken cancellationToken)
    {
        string? line;
        try
        {
            line = await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CorpusLimitException ex)
        {
            throw Error(null, ex.Message, line: LineNumber + 1);
        }
        catch (InvalidDataException ex)
        {
            throw Error(null, $"the gzip data is corrupt or truncated ({ex.Message})", line: LineNumber + 1);
        }
        catch (EndOfStreamException ex)
        {
            throw Error(null, $"the gzip data is truncated ({ex.Message})", line: LineNumber + 1);
        }
        if (line is null) return null;
        foreach (var c in line)
        {
            if (c == '\uFFFD' || (char.IsControl(c) && c != '\t'))
            {
                var what = compressed ? "decompressed data" : "file";
                throw Error(null, $"the {what} contains binary data (character U+{(int)c:X4}); expected FASTA or UniProt text",
                    line: LineNumber + 1);
            }
        }
        return line;
    }

    /// <summary>A quoted excerpt of a line for an error, or a placeholder when the reader may not quote the file.</summary>
    public string Preview(string line) =>
        !quoteContent ? "[line not shown]" : "'" + (line.Length <= 40 ? line : line[..40] + "...") + "'";

}

/// <summary>Puts already-read bytes back in front of a non-seekable stream (format sniffing).</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ReadOnlyForwardStream
{
    private int _position;

    public override int Read(Span<byte> buffer)
    {
        if (_position < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _position);
            prefix.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
        return inner.Read(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < prefix.Length)
            return Read(buffer.Span);
        return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

}

/// <summary>A limit of <see cref="CorpusReadOptions"/> was passed; reported as a file-level <see cref="CorpusFormatException"/>.</summary>
internal sealed class CorpusLimitException(string message) : IOException(message);

/// <summary>
/// Counts the text as it is read: throws <see cref="CorpusLimitException"/> once a line runs past
/// <c>maxLineBytes</c> without a newline or the text past <c>maxTextBytes</c>, so neither reaches the line reader's memory.
/// </summary>
internal sealed class BoundedTextStream(Stream inner, int maxLineBytes, long maxTextBytes) : ReadOnlyForwardStream
{
    private long _total;
    private long _lineLength;

    public override int Read(Span<byte> buffer) => Account(buffer[..inner.Read(buffer)]);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..n]);
    }

    private int Account(ReadOnlySpan<byte> data)
    {
        _total += data.Length;
        if (_total > maxTextBytes)
            throw new CorpusLimitException($"the text is longer than {maxTextBytes:N0} bytes (decompressed), the limit for one corpus");
        var firstNewline = data.IndexOf((byte)'\n');
        if (firstNewline < 0)
        {
            _lineLength += data.Length;
        }
        else
        {
            // Lines wholly inside one read are at most a read long; only the first can continue an earlier line.
            if (_lineLength + firstNewline > maxLineBytes) Throw();
            _lineLength = data.Length - data.LastIndexOf((byte)'\n') - 1;
        }
        if (_lineLength > maxLineBytes) Throw();
        return data.Length;
    }

    private void Throw() => throw new CorpusLimitException($"a line is longer than {maxLineBytes:N0} bytes (binary data, or a file without line breaks?)");

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
