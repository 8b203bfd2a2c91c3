using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>One request as the fake server received it, body already un-gzipped.</summary>
public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body, bool WasGzipped);

public sealed record FakeReply(int Status, string Body = "", bool ProductHeader = true)
{
    public static FakeReply Json(string body, int status = 200) => new(status, body);
}

/// <summary>
/// A loopback HTTP server speaking just enough of Elasticsearch's wire protocol for the real client library to
/// talk to it: it answers each request through <see cref="Handler"/> and records what it received. Elasticsearch
/// itself cannot run on this machine, so this is the edge at which the adapter is tested.
/// </summary>
public sealed class FakeElasticsearch : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Task loop;
    private readonly List<ReceivedRequest> received = [];

    public FakeElasticsearch()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(Url);
        listener.Start();
        loop = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public Func<ReceivedRequest, FakeReply> Handler { get; set; } = _ => FakeReply.Json("{}");

    public IReadOnlyList<ReceivedRequest> Received
    {
        get
        {
            lock (received) return [.. received];
        }
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            await HandleAsync(context);
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var headers = request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
        var gzipped = headers.TryGetValue("Content-Encoding", out var encoding) && encoding.Contains("gzip", StringComparison.OrdinalIgnoreCase);
        using var raw = new MemoryStream();
        await request.InputStream.CopyToAsync(raw);
        raw.Position = 0;
        string body;
        if (gzipped)
        {
            await using var unzip = new GZipStream(raw, CompressionMode.Decompress);
            using var reader = new StreamReader(unzip, Encoding.UTF8);
            body = await reader.ReadToEndAsync();
        }
        else
        {
            body = Encoding.UTF8.GetString(raw.ToArray());
        }
        var path = request.Url!.AbsolutePath.TrimStart('/');
        var received1 = new ReceivedRequest(request.HttpMethod, Uri.UnescapeDataString(path), request.Url.Query.TrimStart('?'), headers, body, gzipped);
        lock (received) received.Add(received1);

        FakeReply reply;
        try
        {
            reply = Handler(received1);
        }
        catch (Exception e)
        {
            reply = new FakeReply(500, $"{{\"error\":{{\"type\":\"fake_failure\",\"reason\":\"{e.GetType().Name}\"}}}}");
        }
        var response = context.Response;
        response.StatusCode = reply.Status;
        if (reply.ProductHeader) response.Headers["X-Elastic-Product"] = "Elasticsearch";
        response.ContentType = "application/vnd.elasticsearch+json;compatible-with=9";
        var bytes = Encoding.UTF8.GetBytes(reply.Body);
        if (request.HttpMethod != "HEAD")
        {
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes);
        }
        response.Close();
    }

    private int disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        listener.Stop();
        listener.Close();
        try
        {
            loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }
}
