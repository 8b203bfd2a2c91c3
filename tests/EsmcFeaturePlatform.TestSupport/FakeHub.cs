using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EsmcFeaturePlatform.TestSupport;

/// <summary>
/// A loopback Hugging Face Hub that speaks the Hub's wire protocol to the real client code: the listing
/// <c>GET /api/{models|datasets}/{repo}/revision/{rev}?blobs=true</c> (siblings with size, blobId and lfs.sha256),
/// <c>GET /[datasets/]{repo}/resolve/{rev}/{path}</c> answering small files itself and redirecting LFS files to a
/// second loopback host (the "CDN", another port, so another authority) that honours <c>Range</c>; 401 with the
/// Hub's <c>X-Error-Code</c>/<c>X-Error-Message</c> headers for a private repo asked without its token; 404 for an
/// unknown repo or revision. Faults on demand: one corrupted byte, or a connection that breaks off mid-file.
/// It is a raw HTTP/1.1 server over sockets (one request per connection) so a broken-off body is a real one.
/// </summary>
public sealed class FakeHub : IDisposable
{
    private readonly TcpListener hub = new(IPAddress.Loopback, 0);
    private readonly TcpListener cdn = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentDictionary<string, Repo> repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> corruptNext = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> cutNext = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> stallNext = new(StringComparer.Ordinal);

    private volatile TaskCompletionSource released = Released();

    /// <summary>From now on the CDN host answers no download until <see cref="ReleaseDownloads"/> (a pull that takes a while).</summary>
    public void HoldDownloads() => released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseDownloads() => released.TrySetResult();

    private static TaskCompletionSource Released()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    /// <summary>Every request seen: host ("hub" or "cdn"), path, Range header, whether an Authorization header came.</summary>
    public ConcurrentQueue<(string Host, string Path, string? Range, bool Authorized)> Requests { get; } = new();

    public FakeHub()
    {
        hub.Start();
        cdn.Start();
        _ = AcceptLoop(hub, "hub");
        _ = AcceptLoop(cdn, "cdn");
    }

    /// <summary>What HF_ENDPOINT should be.</summary>
    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)hub.LocalEndpoint).Port}";

    public string CdnEndpoint => $"http://127.0.0.1:{((IPEndPoint)cdn.LocalEndpoint).Port}";

    /// <summary>Serves the files of a folder (not sub-folders) as a repository; .safetensors and .parquet files are LFS files.</summary>
    public void AddRepository(string id, string folder, bool dataset = false, string? token = null)
    {
        var files = Directory.GetFiles(folder).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        AddRepository(id, files, dataset, token);
    }

    public void AddRepository(string id, IReadOnlyDictionary<string, byte[]> files, bool dataset = false, string? token = null)
    {
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + string.Join(",", files.Keys.Order()))));
        repos[Key(id, dataset)] = new Repo(id, commit, files.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal), token);
        foreach (var content in files.Values) blobs[Sha256(content)] = content;
    }

    /// <summary>The next download of <paramref name="path"/> (from the CDN or the Hub) has one byte changed.</summary>
    public void CorruptNextDownload(string path) => corruptNext[path] = 1;

    /// <summary>The next download of <paramref name="path"/> announces the whole length but stops after <paramref name="bytes"/> bytes.</summary>
    public void BreakNextDownloadAfter(string path, long bytes) => cutNext[path] = bytes;

    /// <summary>The next download of <paramref name="path"/> sends <paramref name="bytes"/> bytes, then nothing, keeping the connection open.</summary>
    public void StallNextDownloadAfter(string path, long bytes) => stallNext[path] = bytes;

    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".parquet", StringComparison.Ordinal);

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public static string GitBlobId(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    public void Dispose()
    {
        stop.Cancel();
        hub.Stop();
        cdn.Stop();
        stop.Dispose();
    }

    private static string Key(string id, bool dataset) => (dataset ? "datasets/" : "models/") + id;

    private sealed record Repo(string Id, string Commit, Dictionary<string, byte[]> Files, string? Token);

    private async Task AcceptLoop(TcpListener listener, string host)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try { await ServeAsync(client.GetStream(), host); }
                    catch (IOException) { /* the client went away */ }
                }
            });
        }
    }

    private async Task ServeAsync(NetworkStream stream, string host)
    {
        var head = await ReadHeadAsync(stream);
        if (head is null) return;
        var lines = head.Split("\r\n");
        var target = lines[0].Split(' ')[1];
        var headers = lines.Skip(1).Where(l => l.Contains(':'))
            .ToDictionary(l => l[..l.IndexOf(':')].Trim(), l => l[(l.IndexOf(':') + 1)..].Trim(), StringComparer.OrdinalIgnoreCase);
        var path = Uri.UnescapeDataString(target.Split('?')[0]);
        headers.TryGetValue("Range", out var range);
        headers.TryGetValue("Authorization", out var authorization);
        Requests.Enqueue((host, path, range, authorization is not null));

        if (host == "cdn")
        {
            await released.Task.WaitAsync(stop.Token);
            // /lfs/{sha256}/{file name}
            var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && parts[0] == "lfs" && blobs.TryGetValue(parts[1], out var blob))
                await SendFileAsync(stream, parts[2], blob, range, []);
            else await SendAsync(stream, 404, "Not Found", [], "no such object");
            return;
        }

        if (path.StartsWith("/api/", StringComparison.Ordinal))
        {
            // /api/{models|datasets}/{owner}/{name}/revision/{rev}
            var parts = path["/api/".Length..].Split('/');
            if (parts.Length != 5 || parts[3] != "revision")
            {
                await SendAsync(stream, 404, "Not Found", [], "unknown route");
                return;
            }
            var repo = await FindAsync(stream, parts[0], $"{parts[1]}/{parts[2]}", parts[4], authorization);
            if (repo is null) return;
            var listing = new
            {
                id = repo.Id,
                sha = repo.Commit,
                siblings = repo.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => new
                {
                    rfilename = f.Key,
                    blobId = GitBlobId(f.Value),
                    size = (long)f.Value.Length,
                    lfs = IsLfs(f.Key) ? new { sha256 = Sha256(f.Value), size = (long)f.Value.Length, pointerSize = 134 } : null,
                }),
            };
            await SendAsync(stream, 200, "OK", [("Content-Type", "application/json")], JsonSerializer.Serialize(listing));
            return;
        }

        // /[datasets/]{owner}/{name}/resolve/{rev}/{path...}
        var segments = path.TrimStart('/').Split('/');
        var dataset = segments[0] == "datasets";
        if (dataset) segments = segments[1..];
        if (segments.Length < 5 || segments[2] != "resolve")
        {
            await SendAsync(stream, 404, "Not Found", [], "unknown route");
            return;
        }
        var found = await FindAsync(stream, dataset ? "datasets" : "models", $"{segments[0]}/{segments[1]}", segments[3], authorization);
        if (found is null) return;
        var file = string.Join('/', segments[4..]);
        if (!found.Files.TryGetValue(file, out var content))
        {
            await SendAsync(stream, 404, "Not Found", [("X-Error-Code", "EntryNotFound"), ("X-Error-Message", "Entry not found")], "Entry not found");
            return;
        }
        (string, string)[] common = [("X-Repo-Commit", found.Commit)];
        if (IsLfs(file))
        {
            var sha = Sha256(content);
            await SendAsync(stream, 302, "Found",
                [.. common, ("X-Linked-Etag", $"\"{sha}\""), ("X-Linked-Size", content.Length.ToString()), ("Location", $"{CdnEndpoint}/lfs/{sha}/{Uri.EscapeDataString(file)}")], "");
            return;
        }
        await SendFileAsync(stream, file, content, range, [.. common, ("ETag", $"\"{GitBlobId(content)}\"")]);
    }

    private async Task<Repo?> FindAsync(NetworkStream stream, string kind, string id, string revision, string? authorization)
    {
        if (!repos.TryGetValue($"{kind}/{id}", out var repo))
        {
            await SendAsync(stream, 404, "Not Found", [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")], "Repository not found");
            return null;
        }
        if (repo.Token is not null && authorization != $"Bearer {repo.Token}")
        {
            await SendAsync(stream, 401, "Unauthorized",
                [("X-Error-Code", "GatedRepo"), ("X-Error-Message", $"Access to model {id} is restricted. You must have access to it and be authenticated to access it. Please log in.")], "");
            return null;
        }
        if (revision != "main" && revision != repo.Commit)
        {
            await SendAsync(stream, 404, "Not Found", [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", $"Invalid rev id: {revision}")], "Invalid rev id");
            return null;
        }
        return repo;
    }

    private async Task SendFileAsync(NetworkStream stream, string file, byte[] content, string? range, (string, string)[] headers)
    {
        long start = 0;
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            start = long.Parse(range["bytes=".Length..^1]);
        if (start > content.Length)
        {
            await SendAsync(stream, 416, "Range Not Satisfiable", [("Content-Range", $"bytes */{content.Length}")], "");
            return;
        }
        var body = content.AsSpan((int)start).ToArray();
        if (corruptNext.TryRemove(file, out _) && body.Length > 0) body[body.Length / 2] ^= 0x5A;
        var status = start > 0 ? 206 : 200;
        var reason = start > 0 ? "Partial Content" : "OK";
        (string, string)[] all = start > 0 ? [.. headers, ("Content-Range", $"bytes {start}-{content.Length - 1}/{content.Length}")] : headers;
        if (cutNext.TryRemove(file, out var cut))
        {
            // Announce the whole body, send part of it, then close: the client sees the connection end early.
            await WriteHeadAsync(stream, status, reason, [.. all, ("Accept-Ranges", "bytes")], body.Length);
            await stream.WriteAsync(body.AsMemory(0, (int)Math.Min(cut, body.Length)));
            await stream.FlushAsync();
            stream.Socket.Shutdown(SocketShutdown.Send);
            return;
        }
        if (stallNext.TryRemove(file, out var stall))
        {
            await WriteHeadAsync(stream, status, reason, [.. all, ("Accept-Ranges", "bytes")], body.Length);
            await stream.WriteAsync(body.AsMemory(0, (int)Math.Min(stall, body.Length)));
            await stream.FlushAsync();
            try { await Task.Delay(Timeout.Infinite, stop.Token); }
            catch (OperationCanceledException) { }
            return;
        }
        await WriteHeadAsync(stream, status, reason, [.. all, ("Accept-Ranges", "bytes")], body.Length);
        await stream.WriteAsync(body);
    }

    private static async Task SendAsync(NetworkStream stream, int status, string reason, (string, string)[] headers, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        await WriteHeadAsync(stream, status, reason, headers, bytes.Length);
        await stream.WriteAsync(bytes);
    }

    private static async Task WriteHeadAsync(NetworkStream stream, int status, string reason, (string Name, string Value)[] headers, long length)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\n");
        foreach (var (name, value) in headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("Content-Length: ").Append(length).Append("\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (buffer.Count < 65536)
        {
            if (await stream.ReadAsync(one) == 0) return null;
            buffer.Add(one[0]);
            var n = buffer.Count;
            if (n >= 4 && buffer[n - 4] == '\r' && buffer[n - 3] == '\n' && buffer[n - 2] == '\r' && buffer[n - 1] == '\n')
                return Encoding.ASCII.GetString(buffer.ToArray(), 0, n - 4);
        }
        return null;
    }
}
