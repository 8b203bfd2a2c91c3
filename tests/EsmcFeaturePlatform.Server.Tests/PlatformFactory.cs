using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>The real all-in-one host (silo + API) on Azurite, over the tiny golden model, with one key per role.</summary>
public class PlatformFactory : WebApplicationFactory<Program>
{
    public const string ReaderKey = "reader-key-1";
    public const string CuratorKey = "curator-key-1";
    /// <summary>A second curator ("dave"): reviews what carol proposes (a curator may not approve their own proposal).</summary>
    public const string SecondCuratorKey = "curator-key-2";
    public const string AdminKey = "admin-key-1";

    // The host's data folder (search index, demo files), deleted with the factory so test runs leave no folders behind.
    private string? dataRoot;

    public PlatformFactory() : this(new Dictionary<string, string>()) { }

    /// <summary>A platform with more (or replaced) settings, e.g. Esmc:Safety:* for the screening tests (internal: a class fixture has one public constructor).</summary>
    internal PlatformFactory(IReadOnlyDictionary<string, string> extraSettings)
    {
        foreach (var (key, value) in extraSettings) Settings[key] = value;
        TestEnvironment.EnsureAzurite();
    }

    /// <summary>Services added after the platform's own (e.g. a storage fault injector).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Settings applied over the defaults below (set before the first request starts the host).</summary>
    public Dictionary<string, string> Settings { get; } = [];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var name = TestEnvironment.UniqueName("http");
        dataRoot = Path.Combine(Path.GetTempPath(), name);
        builder.UseEnvironment(Environments.Production);
        var settings = new Dictionary<string, string>
        {
            ["Esmc:ModelRoot"] = TestEnvironment.ModelRoot,
            ["Esmc:Storage:ConnectionString"] = TestStorage.ConnectionString,
            ["Esmc:DataRoot"] = dataRoot,
            ["Esmc:Storage:Container"] = name,
            ["Esmc:Cluster:ClusterId"] = name,
            ["Esmc:Cluster:SiloPort"] = LoopbackPorts.Free().ToString(),
            ["Esmc:Cluster:GatewayPort"] = LoopbackPorts.Free().ToString(),
            ["Esmc:Indexing:MaxBatchProteins"] = "8",
            ["Esmc:Api:MaxRequestBytes"] = "65536",
            ["Esmc:Auth:ApiKeys:alice:Key"] = ReaderKey,
            ["Esmc:Auth:ApiKeys:alice:Role"] = "reader",
            ["Esmc:Auth:ApiKeys:carol:Key"] = CuratorKey,
            ["Esmc:Auth:ApiKeys:carol:Role"] = "curator",
            ["Esmc:Auth:ApiKeys:dave:Key"] = SecondCuratorKey,
            ["Esmc:Auth:ApiKeys:dave:Role"] = "curator",
            ["Esmc:Auth:ApiKeys:ops:Key"] = AdminKey,
            ["Esmc:Auth:ApiKeys:ops:Role"] = "admin",
            ["Esmc:Corpus:Roots:0"] = TestEnvironment.CorpusRoot,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Settings) settings[key] = value;
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        builder.ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddProvider(Logs));
        if (ConfigureServices is { } configure) builder.ConfigureServices(configure);
    }

    /// <summary>What the host logged (warnings and above), to check that nothing sensitive is logged.</summary>
    public CapturedLogs Logs { get; } = new();


    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        TempFolders.TryDelete(dataRoot);
    }

    public async Task<(int Status, JsonObject Body)> PostAsync(string query, object? variables = null, string? key = null)
    {
        var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { query, variables }), Encoding.UTF8, "application/json"),
        };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text)!.AsObject());
    }

    public async Task<JsonNode> DataAsync(string query, object? variables = null, string? key = null)
    {
        var (_, body) = await PostAsync(query, variables, key);
        Assert.True(body["errors"] is null, body.ToJsonString());
        return body["data"]!;
    }

    public static string ErrorCode(JsonObject body)
    {
        Assert.True(body["errors"] is JsonArray { Count: > 0 }, body.ToJsonString());
        return body["errors"]![0]!["extensions"]!["code"]!.GetValue<string>();
    }

    public static string ErrorMessage(JsonObject body) => body["errors"]![0]!["message"]!.GetValue<string>();
}

/// <summary>Log lines of a test host, kept in memory.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
