namespace EsmcFeaturePlatform.Corpus;

/// <summary>
/// .NET's GZipStream stops quietly when its input ends early, so a truncated .gz would read as a shorter corpus.
/// This stream checks the decompressed bytes against the gzip trailer (CRC-32 and length, the last 8 bytes of the
/// file) when the data ends, and throws <see cref="InvalidDataException"/> when they disagree. The check covers the
/// whole output, so multi-member files (bgzip) are refused with the same clear error rather than half-verified.
/// </summary>
internal sealed class GzipIntegrityStream(Stream decompressed, TailRecordingStream compressed) : ReadOnlyForwardStream
{
    private uint _crc = 0xFFFFFFFFu;
    private long _length;
    private bool _verified;

    public override int Read(Span<byte> buffer)
    {
        var n = decompressed.Read(buffer);
        return Account(buffer[..n], buffer.Length);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await decompressed.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..n], buffer.Length);
    }

    private int Account(ReadOnlySpan<byte> data, int requested)
    {
        if (data.Length > 0)
        {
            _crc = Crc32.Update(_crc, data);
            _length += data.Length;
        }
        else if (requested > 0 && !_verified)
        {
            _verified = true;
            Verify();
        }
        return data.Length;
    }

    private void Verify()
    {
        var tail = compressed.Tail;
        if (tail.Length < 8)
            throw new InvalidDataException("the gzip data ends before its 8-byte trailer (truncated file)");
        var expectedCrc = BitConverter.ToUInt32(tail[..4]);
        var expectedLength = BitConverter.ToUInt32(tail[4..]);
        var crc = _crc ^ 0xFFFFFFFFu;
        if (crc != expectedCrc || (uint)_length != expectedLength)
            throw new InvalidDataException(
                $"decompressed {_length} bytes that do not match the gzip trailer (truncated file, corrupt data, or a multi-member gzip such as bgzip, which is not supported)");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) decompressed.Dispose();
        base.Dispose(disposing);
    }

}

/// <summary>Passes bytes through and remembers the last 8 read: the gzip trailer once the input is exhausted.</summary>
internal sealed class TailRecordingStream(Stream inner) : ReadOnlyForwardStream
{
    private readonly byte[] _tail = new byte[8];
    private int _tailLength;

    public byte[] Tail => _tail[..(_tailLength < 8 ? _tailLength : 8)];

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Remember(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Remember(buffer.Span[..n]);
        return n;
    }

    private void Remember(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 8)
        {
            data[^8..].CopyTo(_tail);
            _tailLength = 8;
            return;
        }
        var keep = Math.Min(_tailLength, 8 - data.Length);
        Array.Copy(_tail, _tailLength - keep, _tail, 0, keep);
        data.CopyTo(_tail.AsSpan(keep));
        _tailLength = keep + data.Length;
    }

}

/// <summary>CRC-32 (IEEE 802.3, as in gzip); System.IO.Hashing is not part of the shared framework.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
