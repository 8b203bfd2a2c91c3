using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Server.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Xunit;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>
/// The real all-in-one server (silo + API + web page) on Kestrel at a free loopback port, over Azurite and the tiny golden
/// model (as in the server tests), with a small indexed corpus; and Debian's chromium driven by Playwright.
/// </summary>
public sealed class WebPlatform : IAsyncLifetime
{
    public const string CuratorKey = "curator-key-web";
    /// <summary>A second curator ("dave"): a curator may not approve their own proposal.</summary>
    public const string SecondCuratorKey = "curator-key-web-2";
    public const string AdminKey = "admin-key-web";
    public const string StatesRepo = TinyModelRoot.SaeRepository;
    public const string Sae = StatesRepo + "/layer2";
    public const string ChromiumPath = "/usr/bin/chromium";

    private Factory? factory;
    private FakeAlphaFold? alphaFold;
    private IPlaywright? playwright;
    private readonly HttpClient http = new();

    public string BaseUrl { get; private set; } = "";

    /// <summary>The SAEs of the random demo model in the model root.</summary>
    public IReadOnlyList<string> DemoSaes { get; private set; } = [];
    public IBrowser Browser { get; private set; } = null!;
    public IReadOnlyList<(string Id, string Sequence)> Corpus { get; private set; } = [];

    /// <summary>AlphaFold DB's API on loopback; the server's Esmc:AlphaFold:BaseUrl points at it.</summary>
    public FakeAlphaFold AlphaFold => alphaFold!;

    public HttpClient Http => http;

    public async Task InitializeAsync()
    {
        var modelRoot = TinyModelRoot.Create("esmc-web-tests-models");
        // The generated random demo model beside it, as a fresh server serves it: its pages must say what it is.
        DemoSaes = EsmcFeaturePlatform.Inference.TorchSharp.DemoModel.Create(modelRoot);
        alphaFold = await FakeAlphaFold.StartAsync();
        var port = 0;
        // The emulator may be busy (a shared, loaded machine: its port probe can time out once): try again a few times.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var launcher = AzuriteLauncher.EnsureRunning(Path.Combine(Path.GetTempPath(), "esmc-web-tests-azurite"), inMemory: true, _ => { },
                    TestStorage.ConnectionString);
                // Deliberately left running when this process exits: the test assemblies of one `dotnet test` run in
                // parallel processes and share the emulator on the tests' ports (TestStorage), so whichever started it
                // must not take it away from the others. It is in-memory and on loopback; .ci/run starts and stops its own.
                GC.KeepAlive(launcher);
                port = LoopbackPorts.Free();
                factory = new Factory(modelRoot, port, alphaFold.BaseUrl);
                var listen = port;
                factory.UseKestrel(options => options.Listen(IPAddress.Loopback, listen));
                factory.StartServer();
                break;
            }
            catch (InvalidOperationException ex) when (attempt < 10 && ex.Message.Contains("emulator", StringComparison.OrdinalIgnoreCase))
            {
                Console.WriteLine($"storage emulator not ready (attempt {attempt}): {ex.Message}");
                if (factory is not null) await factory.DisposeAsync();
                factory = null;
                await Task.Delay(TimeSpan.FromSeconds(3));
            }
        }
        BaseUrl = $"http://127.0.0.1:{port}";
        http.BaseAddress = new Uri(BaseUrl);
        http.Timeout = TimeSpan.FromMinutes(5);
        await IndexCorpusAsync();

        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // swiftshader: WebGL in software for the structure view (no GPU here).
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        playwright?.Dispose();
        if (factory is not null) await factory.DisposeAsync();
        if (alphaFold is not null) await alphaFold.DisposeAsync();
        http.Dispose();
    }

    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(120_000);
        page.Console += (_, m) => { if (m.Type == "error") Console.WriteLine("browser console: " + m.Text); };
        page.PageError += (_, e) => Console.WriteLine("page error: " + e);
        return page;
    }

    public async Task<JsonNode> DataAsync(string query, object? variables = null, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { query, variables }), Encoding.UTF8, "application/json"),
        };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(body["errors"] is null, body.ToJsonString());
        return body["data"]!;
    }

    public static string ScreenshotPath(string name)
    {
        var dir = Path.Combine(RepoRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln"))) return dir.FullName;
        return AppContext.BaseDirectory;
    }

    private async Task IndexCorpusAsync()
    {
        const string alphabet = "ACDEFGHIKLMNPQRSTVWY";
        var random = new Random(61);
        var records = Enumerable.Range(0, 24)
            .Select(i => ($"web_{i:D3}", new string(Enumerable.Range(0, random.Next(12, 40)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray())))
            .ToList();
        Corpus = records;
        var path = Path.Combine(Path.GetTempPath(), $"esmc-web-corpus-{Guid.NewGuid():N}.fasta");
        await File.WriteAllLinesAsync(path, records.SelectMany(r => new[] { ">" + r.Item1, r.Item2 }));
        await IndexAsync(Sae, path);
    }

    /// <summary>Indexes a FASTA or UniProt flat file into <paramref name="sae"/> and waits for the job to complete.</summary>
    public async Task IndexAsync(string sae, string path)
    {
        var job = await DataAsync("mutation($sae: ID!, $path: String!) { indexCorpus(sae: $sae, fastaPath: $path) { id } }", new { sae, path }, AdminKey);
        var id = job["indexCorpus"]!["id"]!.GetValue<string>();
        for (var attempt = 0; attempt < 600; attempt++)
        {
            var status = (await DataAsync("query($id: ID!) { job(id: $id) { status error } }", new { id }))["job"]!;
            var s = status["status"]!.GetValue<string>();
            if (s == "COMPLETED") return;
            Assert.True(s != "FAILED", status.ToJsonString());
            await Task.Delay(500);
        }
        Assert.Fail("the indexing job did not complete");
    }

    private sealed class Factory(string modelRoot, int port, string alphaFoldUrl) : WebApplicationFactory<Program>
    {
        // The host's data folder, deleted with the factory so test runs leave no folders behind.
        private string? dataRoot;

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            TempFolders.TryDelete(dataRoot);
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            var name = $"web-{Guid.NewGuid():N}";
            dataRoot = Path.Combine(Path.GetTempPath(), name);
            builder.UseEnvironment(Environments.Production);
            var settings = new Dictionary<string, string>
            {
                ["urls"] = $"http://127.0.0.1:{port}",
                ["Esmc:ModelRoot"] = modelRoot,
                ["Esmc:DataRoot"] = dataRoot,
                ["Esmc:Corpus:Roots:0"] = Path.GetTempPath(),   // the corpora these tests index are written there
                ["Esmc:Storage:ConnectionString"] = TestStorage.ConnectionString,
                ["Esmc:Storage:Container"] = name,
                ["Esmc:Cluster:ClusterId"] = name,
                ["Esmc:Cluster:SiloPort"] = LoopbackPorts.Free().ToString(),
                ["Esmc:Cluster:GatewayPort"] = LoopbackPorts.Free().ToString(),
                ["Esmc:Indexing:MaxBatchProteins"] = "8",
                ["Esmc:Auth:ApiKeys:carol:Key"] = CuratorKey,
                ["Esmc:Auth:ApiKeys:carol:Role"] = "curator",
                ["Esmc:Auth:ApiKeys:dave:Key"] = SecondCuratorKey,
                ["Esmc:Auth:ApiKeys:dave:Role"] = "curator",
                ["Esmc:Auth:ApiKeys:ops:Key"] = AdminKey,
                ["Esmc:Auth:ApiKeys:ops:Role"] = "admin",
                ["Esmc:AlphaFold:BaseUrl"] = alphaFoldUrl,
                ["Logging:LogLevel:Default"] = "Warning",
            };
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
            builder.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class WebCollection : ICollectionFixture<WebPlatform>
{
    public const string Name = "web";
}
