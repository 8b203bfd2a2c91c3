using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// One keep-alive HTTP/1.1 connection that posts prebuilt request bytes and reads the response into a reused buffer:
/// a load generator about as cheap as wrk, so that on this 2-core machine the benchmark's CPU goes to the server it
/// measures rather than to HttpClient's request and header objects (HttpClient with a JSON parse of every response
/// cost about 0.1 CPU-ms per request here). Understands what Kestrel sends: Content-Length or chunked bodies, one response per request.
/// </summary>
internal sealed class RawHttpConnection : IAsyncDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] ContentLengthName = "\r\ncontent-length:"u8.ToArray();
    private static readonly byte[] TransferEncodingName = "\r\ntransfer-encoding:"u8.ToArray();
    private readonly Socket socket;
    private byte[] buffer = new byte[64 * 1024];
    private int filled;

    private RawHttpConnection(Socket socket) => this.socket = socket;

    public static async Task<RawHttpConnection> OpenAsync(Uri server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(server.Host), server.Port));
        return new RawHttpConnection(socket);
    }

    /// <summary>A complete POST request (request line, headers, body) for <paramref name="path"/>.</summary>
    public static byte[] Post(Uri server, string path, byte[] jsonBody)
    {
        var head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: {jsonBody.Length}\r\n\r\n");
        return [.. head, .. jsonBody];
    }

    /// <summary>Sends one request and returns the status code and the body (valid until the next call).</summary>
    public async Task<(int Status, ReadOnlyMemory<byte> Body)> SendAsync(byte[] request)
    {
        await socket.SendAsync(request);
        filled = 0;
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(0, filled).IndexOf(HeaderEnd)) < 0) await ReceiveAsync();
        Utf8Parser.TryParse(buffer.AsSpan(9, 3), out int status, out _);
        var bodyStart = headerEnd + HeaderEnd.Length;
        var length = ContentLength(buffer.AsSpan(0, headerEnd + 2));
        if (length >= 0)
        {
            while (filled < bodyStart + length) await ReceiveAsync();
            return (status, buffer.AsMemory(bodyStart, length));
        }

        // Chunked: each chunk's data is moved down over its size line, so the body ends up contiguous at bodyStart.
        var read = bodyStart;
        var written = bodyStart;
        while (true)
        {
            int lineEnd;
            while ((lineEnd = buffer.AsSpan(read, filled - read).IndexOf("\r\n"u8)) < 0) await ReceiveAsync();
            if (!Utf8Parser.TryParse(buffer.AsSpan(read, lineEnd), out int size, out _, 'x')) throw new IOException("Bad chunk size.");
            read += lineEnd + 2;
            while (filled < read + size + 2) await ReceiveAsync();
            if (size == 0) return (status, buffer.AsMemory(bodyStart, written - bodyStart));
            buffer.AsSpan(read, size).CopyTo(buffer.AsSpan(written));
            written += size;
            read += size + 2;
        }
    }

    private async Task ReceiveAsync()
    {
        if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        var read = await socket.ReceiveAsync(buffer.AsMemory(filled));
        if (read == 0) throw new IOException("The server closed the connection.");
        filled += read;
    }

    /// <summary>The Content-Length, or -1 for a chunked body; anything else is not a response this reader understands.</summary>
    private static int ContentLength(ReadOnlySpan<byte> head)
    {
        if (TryGetHeader(head, ContentLengthName, out var value))
            return Utf8Parser.TryParse(value, out int length, out _) ? length : throw new IOException("Bad Content-Length.");
        if (TryGetHeader(head, TransferEncodingName, out value) && Ascii.EqualsIgnoreCase(value, "chunked"u8)) return -1;
        throw new IOException("The response has neither a Content-Length nor a chunked body.");
    }

    /// <summary>The trimmed value of the header <paramref name="name"/> ("\r\nname:", compared ignoring case).</summary>
    private static bool TryGetHeader(ReadOnlySpan<byte> head, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (var at = 0; at + name.Length <= head.Length; at++)
        {
            if (!Ascii.EqualsIgnoreCase(head.Slice(at, name.Length), name)) continue;
            value = head[(at + name.Length)..];
            value = value[..value.IndexOf("\r\n"u8)].Trim((byte)' ');
            return true;
        }
        value = default;
        return false;
    }

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
