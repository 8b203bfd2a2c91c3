using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>
/// AlphaFold DB's wire protocol on loopback (the internet is out of reach here): <c>GET /api/prediction/{accession}</c>
/// answers a JSON array of entries with <c>entryId</c>, <c>pdbUrl</c>, <c>cifUrl</c> (as alphafold.ebi.ac.uk does), and
/// <c>/files/...</c> serves the model: the real PDB file tests/fixtures/pdb/1hpv.pdb (HIV-1 protease, UniProt P03367).
/// A few accessions script the failures the platform must report plainly.
/// </summary>
public sealed class FakeAlphaFold : IAsyncDisposable
{
    public const string Known = "P03367";          // served: 1hpv.pdb
    public const string Unknown = "Q8WZ42";        // 404, like the real API for an accession it has no model of
    public const string EmptyList = "P12345";      // 200 with [] (the API's other way of saying "none")
    public const string Failing = "P99999";        // 503: the upstream is down
    public const string Slow = "P11111";           // answers after SlowDelay
    public const string Huge = "P22222";           // a model file over any small size cap
    public const string Elsewhere = "P33333";      // its pdbUrl points at another host
    public static readonly TimeSpan SlowDelay = TimeSpan.FromSeconds(60);

    private readonly WebApplication app;
    private readonly byte[] pdb;

    /// <summary>Requests per path, so tests can see what was fetched (and what a cache spared).</summary>
    public ConcurrentDictionary<string, int> Requests { get; } = new();

    public string BaseUrl { get; }

    private FakeAlphaFold(WebApplication app, byte[] pdb, string baseUrl)
    {
        this.app = app;
        this.pdb = pdb;
        BaseUrl = baseUrl;
    }

    public static async Task<FakeAlphaFold> StartAsync()
    {
        var address = $"http://127.0.0.1:{LoopbackPorts.Free()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(address);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var pdb = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "pdb", "1hpv.pdb"));
        FakeAlphaFold? fake = null;
        app.Use(async (http, next) =>
        {
            fake!.Requests.AddOrUpdate(http.Request.Path.Value ?? "", 1, (_, n) => n + 1);
            await next(http);
        });
        app.MapGet("/api/prediction/{accession}", (HttpContext http, string accession) => fake!.PredictionAsync(http, accession));
        app.MapGet("/files/{name}", (HttpContext http, string name) => fake!.FileAsync(http, name));
        fake = new FakeAlphaFold(app, pdb, address + "/api/");
        await app.StartAsync();
        return fake;
    }

    public int Count(string path) => Requests.TryGetValue(path, out var n) ? n : 0;

    private string FilesRoot => BaseUrl[..^"api/".Length] + "files/";

    private async Task PredictionAsync(HttpContext http, string accession)
    {
        switch (accession)
        {
            case Unknown:
                http.Response.StatusCode = 404;
                await http.Response.WriteAsJsonAsync(new { detail = "Not Found" });
                return;
            case EmptyList:
                await http.Response.WriteAsJsonAsync(Array.Empty<object>());
                return;
            case Failing:
                http.Response.StatusCode = 503;
                await http.Response.WriteAsync("Service Unavailable");
                return;
            case Slow:
                await Task.Delay(SlowDelay, http.RequestAborted);
                break;
        }
        var pdbUrl = accession == Elsewhere ? "http://example.invalid/files/AF-" + accession + "-F1-model_v4.pdb" : $"{FilesRoot}AF-{accession}-F1-model_v4.pdb";
        await http.Response.WriteAsJsonAsync(new[]
        {
            new
            {
                entryId = $"AF-{accession}-F1",
                uniprotAccession = accession,
                pdbUrl,
                cifUrl = $"{FilesRoot}AF-{accession}-F1-model_v4.cif",
                latestVersion = 4,
            },
        });
    }

    private async Task FileAsync(HttpContext http, string name)
    {
        http.Response.ContentType = "chemical/x-pdb";
        if (name.Contains(Huge, StringComparison.Ordinal))
        {
            // 2 MiB of real PDB lines, sent without a Content-Length so only the read cap can stop it.
            for (var sent = 0; sent < 2 << 20; sent += pdb.Length) await http.Response.Body.WriteAsync(pdb, http.RequestAborted);
            return;
        }
        await http.Response.Body.WriteAsync(pdb, http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
