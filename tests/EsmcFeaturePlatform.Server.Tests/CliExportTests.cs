using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// <c>esmc export</c> run as a real process (<c>dotnet esmc.dll</c>) against the real host on Kestrel (real sockets,
/// a silo on Azurite): what it writes must be exactly what the bulk route serves, and every failure must exit 1 with
/// the reason and leave no file that looks complete.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CliExportTests : IAsyncLifetime
{
    private const string Sae = TestEnvironment.SaeWithRealStats;

    private readonly PlatformFactory platform = new();
    // In the corpus root: the server reads datasets only from there.
    private readonly string folder = Directory.CreateDirectory(Path.Combine(TestEnvironment.CorpusRoot, TestEnvironment.UniqueName("esmc-cli-export"))).FullName;
    private string server = "";

    public Task InitializeAsync()
    {
        server = StartOnKestrel(platform);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await platform.DisposeAsync();
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }

    [Fact]
    public async Task Export_writes_exactly_what_the_bulk_route_serves_as_jsonl_to_a_file_and_csv_to_stdout()
    {
        var (corpus, _) = TestEnvironment.WriteCorpus(12, seed: 91);
        await ApiTestHelpers.IndexAsync(platform, Sae, corpus, topExamples: 3);
        await platform.DataAsync("mutation { proposeDescription(sae: \"" + Sae + "\", index: 5, label: \"cli, \\\"quoted\\\" é\", text: \"first line\\nsecond line\") { version } }", key: PlatformFactory.CuratorKey);
        using var http = new HttpClient { BaseAddress = new Uri(server) };
        var servedJsonl = await http.GetByteArrayAsync($"/api/v1/saes/{Sae}/features.jsonl?topExamples=3");
        var servedCsv = await http.GetStringAsync($"/api/v1/saes/{Sae}/features.csv?topExamples=3");

        var outFile = Path.Combine(folder, "features.jsonl");
        var jsonl = await RunEsmcAsync(["export", "--server", server, "--sae", Sae, "--out", outFile, "--top-examples", "3"]);
        Assert.True(jsonl.ExitCode == 0, jsonl.Stderr);
        Assert.Equal(servedJsonl, await File.ReadAllBytesAsync(outFile));
        Assert.False(File.Exists(outFile + ".partial"));
        var rows = (await File.ReadAllLinesAsync(outFile)).Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal(Enumerable.Range(0, 64), rows.Select(r => r["index"]!.GetValue<int>()));
        Assert.Equal("cli, \"quoted\" é", rows[5]["label"]!.GetValue<string>());
        Assert.Equal("first line\nsecond line", rows[5]["description"]!.GetValue<string>());
        Assert.Contains(rows, r => r["topExampleIds"]!.AsArray().Count == 3);
        Assert.Contains("wrote 64 features", jsonl.Stderr);

        var csv = await RunEsmcAsync(["export", "--server", server, "--sae", Sae, "--format", "csv", "--out", "-", "--top-examples", "3", "--quiet"]);
        Assert.True(csv.ExitCode == 0, csv.Stderr);
        Assert.Equal(servedCsv, csv.Stdout);
        Assert.Equal("", csv.Stderr);
    }

    [Fact]
    public async Task Import_features_runs_the_import_job_and_export_as_parquet_writes_what_the_route_serves()
    {
        const string sae = TestEnvironment.SaeWithPlaceholderStats;
        var dataset = Path.Combine(folder, "dataset");
        Directory.CreateDirectory(dataset);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "feature-dataset", "esmc-tiny-features.parquet"), Path.Combine(dataset, "part-0.parquet"));

        var refused = await RunEsmcAsync(["import-features", "--server", server, "--sae", sae, "--path", dataset, "--api-key", PlatformFactory.CuratorKey]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("FORBIDDEN", refused.Stderr);
        Assert.Contains("admin key", refused.Stderr);

        var imported = await RunEsmcAsync(["import-features", "--server", server, "--sae", sae, "--path", dataset, "--revision", "abc123"], ("ESMC_API_KEY", PlatformFactory.AdminKey));
        Assert.True(imported.ExitCode == 0, imported.Stderr);
        Assert.StartsWith("import-", imported.Stdout.Trim());
        Assert.Contains("COMPLETED, 64 of 64 rows", imported.Stderr);
        var label = await platform.DataAsync("{ feature(sae: \"" + sae + "\", index: 12) { description { label provenance } } }");
        Assert.Equal("Transmembrane helix core", label["feature"]!["description"]!["label"]!.GetValue<string>());
        Assert.Equal("dataset biohub/ESMC-SAE-Features, revision abc123, file part-0.parquet", label["feature"]!["description"]!["provenance"]!.GetValue<string>());

        using var http = new HttpClient { BaseAddress = new Uri(server) };
        var served = await http.GetByteArrayAsync($"/api/v1/saes/{sae}/features.parquet?topExamples=3");
        var outFile = Path.Combine(folder, "features.parquet");
        var parquet = await RunEsmcAsync(["export", "--server", server, "--sae", sae, "--format", "parquet", "--out", outFile, "--top-examples", "3"]);
        Assert.True(parquet.ExitCode == 0, parquet.Stderr);
        Assert.Equal(served, await File.ReadAllBytesAsync(outFile));
        Assert.Contains("wrote 64 features", parquet.Stderr);
        var toStdout = await RunEsmcAsync(["export", "--server", server, "--sae", sae, "--format", "parquet"]);
        Assert.Equal(2, toStdout.ExitCode);
        Assert.Contains("--out FILE", toStdout.Stderr);
    }

    [Fact]
    public async Task Keys_are_taken_from_the_option_or_the_environment_and_a_refused_key_is_reported()
    {
        var outFile = Path.Combine(folder, "keyed.csv");
        var withOption = await RunEsmcAsync(["export", "--server", server, "--sae", Sae, "--format", "csv", "--out", outFile, "--api-key", PlatformFactory.ReaderKey]);
        Assert.True(withOption.ExitCode == 0, withOption.Stderr);
        Assert.Equal(1 + 64, CsvRecords(await File.ReadAllTextAsync(outFile)));

        var previous = await File.ReadAllBytesAsync(outFile);
        var refused = await RunEsmcAsync(["export", "--server", server, "--sae", Sae, "--format", "csv", "--out", outFile], ("ESMC_API_KEY", "not-a-key"));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("401", refused.Stderr);
        Assert.Contains("The API key is not valid.", refused.Stderr);
        Assert.Contains("ESMC_API_KEY", refused.Stderr);
        Assert.Equal(previous, await File.ReadAllBytesAsync(outFile));   // the earlier complete export is untouched
        Assert.False(File.Exists(outFile + ".partial"));

        var fromEnvironment = await RunEsmcAsync(["export", "--server", server, "--sae", Sae, "--out", "-", "--quiet"], ("ESMC_API_KEY", PlatformFactory.ReaderKey));
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.Stderr);
        Assert.Equal(64, fromEnvironment.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task An_unknown_SAE_or_an_unreachable_server_exits_1_with_the_reason_and_writes_nothing()
    {
        var outFile = Path.Combine(folder, "none.jsonl");
        var unknown = await RunEsmcAsync(["export", "--server", server, "--sae", "no-such-repo/layer9", "--out", outFile]);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr);
        Assert.Contains("no-such-repo/layer9", unknown.Stderr);
        Assert.Equal("", unknown.Stdout);
        Assert.False(File.Exists(outFile));
        Assert.False(File.Exists(outFile + ".partial"));

        var nobody = $"http://127.0.0.1:{LoopbackPorts.Free()}";
        var unreachable = await RunEsmcAsync(["export", "--server", nobody, "--sae", Sae, "--out", outFile]);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains($"cannot reach the server at {nobody}", unreachable.Stderr);
        Assert.False(File.Exists(outFile));

        var usage = await RunEsmcAsync(["export", "--server", "ftp://x", "--sae", Sae]);
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--server", usage.Stderr);
        var format = await RunEsmcAsync(["export", "--server", server, "--sae", Sae, "--format", "xml"]);
        Assert.Equal(2, format.ExitCode);
        Assert.Contains("--format", format.Stderr);
    }

    [Fact]
    public async Task A_429_is_retried_after_its_Retry_After_or_reported_when_retries_are_off()
    {
        // 6 a minute: a bucket of 6, then one permit per 10 s, long enough that no permit comes back while the CLI starts.
        await using var limited = platform.WithWebHostBuilder(b => b.UseSetting("Esmc:RateLimit:AnonymousPermitsPerMinute", "6"));
        var address = StartOnKestrel(limited);
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        async Task ExhaustAsync()
        {
            while ((await http.GetAsync("/api/v1/saes")).StatusCode != HttpStatusCode.TooManyRequests) { }
        }

        await ExhaustAsync();
        var reported = await RunEsmcAsync(["export", "--server", address, "--sae", Sae, "--retries", "0", "--out", "-"]);
        Assert.Equal(1, reported.ExitCode);
        Assert.Contains("429", reported.Stderr);
        Assert.Contains("Retry-After", reported.Stderr);
        Assert.Contains("0 retries made", reported.Stderr);
        Assert.Equal("", reported.Stdout);

        await ExhaustAsync();
        var retried = await RunEsmcAsync(["export", "--server", address, "--sae", Sae, "--retries", "20", "--out", "-"]);
        Assert.True(retried.ExitCode == 0, retried.Stderr);
        Assert.Contains("rate limited by the server; retrying in", retried.Stderr);
        Assert.Equal(64, retried.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task A_download_cut_off_mid_body_or_short_of_the_announced_count_fails_and_leaves_no_file()
    {
        // The real server cannot be made to break mid-body on demand, so this one speaks HTTP/1.1 on a loopback socket.
        var outFile = Path.Combine(folder, "cut.jsonl");
        const string rows = "{\"index\":0}\n{\"index\":1}\n";
        var cut = await WithRawServerAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5000\r\n\r\n{rows}",
            url => RunEsmcAsync(["export", "--server", url, "--sae", Sae, "--out", outFile]));
        Assert.Equal(1, cut.ExitCode);
        Assert.Contains("broke off after 2 features", cut.Stderr);
        Assert.False(File.Exists(outFile));
        Assert.False(File.Exists(outFile + ".partial"));

        var shortCount = await WithRawServerAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nX-Esmc-Feature-Count: 3\r\nContent-Length: {rows.Length}\r\n\r\n{rows}",
            url => RunEsmcAsync(["export", "--server", url, "--sae", Sae, "--out", outFile]));
        Assert.Equal(1, shortCount.ExitCode);
        Assert.Contains("incomplete: 2 of 3 features arrived", shortCount.Stderr);
        Assert.False(File.Exists(outFile));
        Assert.False(File.Exists(outFile + ".partial"));
    }

    /// <summary>Starts the factory's host on Kestrel on a free loopback port and returns its base URL.</summary>
    private static string StartOnKestrel<T>(WebApplicationFactory<T> factory) where T : class
    {
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
    }

    private static async Task<CliProcessResult> WithRawServerAsync(string response, Func<string, Task<CliProcessResult>> run)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var request = new byte[4096];
            _ = await stream.ReadAsync(request);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(response));
            client.Client.Shutdown(SocketShutdown.Both);
        });
        var result = await run($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        await serve;
        return result;
    }

    /// <summary>CSV records (header included): line breaks outside quoted fields.</summary>
    private static int CsvRecords(string csv)
    {
        var (records, quoted) = (0, false);
        foreach (var c in csv)
        {
            if (c == '"') quoted = !quoted;
            else if (c == '\n' && !quoted) records++;
        }
        return records;
    }

    private sealed record CliProcessResult(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs <c>dotnet esmc.dll</c> (copied beside the tests by the project reference) without ESMC_API_KEY unless given.</summary>
    private static async Task<CliProcessResult> RunEsmcAsync(string[] args, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "esmc.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("ESMC_API_KEY");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new CliProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
