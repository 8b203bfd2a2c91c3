using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using EsmcFeaturePlatform.Server.Hosting;
using EsmcFeaturePlatform.TestSupport;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// OTEL_EXPORTER_OTLP_ENDPOINT set: the host sends its spans and the platform's metrics by OTLP/HTTP to a collector
/// (<see cref="FakeOtlpCollector"/>, OTLP's HTTP protocol on loopback: it records what is posted and answers 200).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OtlpExportTests : IAsyncLifetime
{
    private readonly FakeOtlpCollector collector = new();
    private readonly PlatformFactory platform = new();

    public Task InitializeAsync()
    {
        platform.Settings[TelemetryOptions.OtlpEndpointKey] = collector.Endpoint;
        platform.Settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        // Export often, so the test waits seconds rather than the default minute for metrics.
        platform.Settings["OTEL_METRIC_EXPORT_INTERVAL"] = "500";
        platform.Settings["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await platform.DisposeAsync();
        collector.Dispose();
    }

    [Fact]
    public async Task Spans_and_metrics_reach_the_collector()
    {
        var sequence = new string([.. Enumerable.Range(0, 25).Select(_ => "ACDEFGHIKLMNPQRSTVWY"[Random.Shared.Next(20)])]);
        var analysis = (await platform.DataAsync("query($s: String!) { analyzeSequence(sae: \"" + TestEnvironment.SaeWithRealStats + "\", sequence: $s, normalize: false) { length } }",
            new { s = sequence }, PlatformFactory.ReaderKey))["analyzeSequence"]!;
        Assert.Equal(25, analysis["length"]!.GetValue<int>());

        // OTLP is protobuf: span and instrument names travel as plain UTF-8 strings inside the posted bodies.
        var deadline = DateTime.UtcNow.AddMinutes(2);   // guards against a hang; not a performance threshold
        while (!(collector.Received("/v1/traces", PlatformTelemetry.InferenceBatchActivity) && collector.Received("/v1/metrics", "esmc.inference.residues"))
               && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.True(collector.Received("/v1/traces", PlatformTelemetry.InferenceBatchActivity), collector.Summary());
        Assert.True(collector.Received("/v1/traces", "/graphql"), collector.Summary());   // ASP.NET Core's request span
        Assert.True(collector.Received("/v1/metrics", "esmc.inference.residues"), collector.Summary());
        Assert.True(collector.Received("/v1/metrics", "Microsoft.Orleans"), collector.Summary());
    }
}

/// <summary>An OTLP/HTTP collector on loopback: keeps every body posted, per path, and answers 200 with no body.</summary>
public sealed class FakeOtlpCollector : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentQueue<(string Path, byte[] Body)> posts = new();

    public FakeOtlpCollector()
    {
        listener.Start();
        _ = AcceptAsync();
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

    public bool Received(string path, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return posts.Any(p => p.Path == path && p.Body.AsSpan().IndexOf(bytes) >= 0);
    }

    public string Summary() => "received: " + string.Join(", ", posts.GroupBy(p => p.Path).Select(g => $"{g.Key} x{g.Count()}"));

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception) { return; }
            _ = ServeAsync(client);
        }
    }

    /// <summary>HTTP/1.1 with keep-alive: request line, headers, a Content-Length body; then 200.</summary>
    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new List<byte>();
        var chunk = new byte[16384];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                int end;
                while ((end = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
                {
                    var read = await stream.ReadAsync(chunk, stop.Token);
                    if (read == 0) return;
                    buffer.AddRange(chunk.AsSpan(0, read));
                }
                var head = Encoding.ASCII.GetString([.. buffer.GetRange(0, end)]).Split("\r\n");
                var path = head[0].Split(' ')[1];
                var length = head.Skip(1).Select(h => h.Split(':', 2)).Where(h => h[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                    .Select(h => int.Parse(h[1].Trim())).FirstOrDefault();
                buffer.RemoveRange(0, end + 4);
                while (buffer.Count < length)
                {
                    var read = await stream.ReadAsync(chunk, stop.Token);
                    if (read == 0) return;
                    buffer.AddRange(chunk.AsSpan(0, read));
                }
                posts.Enqueue((path, [.. buffer.GetRange(0, length)]));
                buffer.RemoveRange(0, length);
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), stop.Token);
            }
        }
        catch (Exception) { /* the exporter closed the connection, or the collector is stopping */ }
    }

    private static int IndexOf(List<byte> buffer, ReadOnlySpan<byte> pattern)
    {
        for (var i = 0; i + pattern.Length <= buffer.Count; i++)
        {
            var match = true;
            for (var j = 0; j < pattern.Length && match; j++) match = buffer[i + j] == pattern[j];
            if (match) return i;
        }
        return -1;
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        stop.Dispose();
    }
}
