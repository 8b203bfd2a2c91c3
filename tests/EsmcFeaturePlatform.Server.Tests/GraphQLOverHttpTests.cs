using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>The real host on Kestrel on a free loopback port, for clients that need real sockets (node's fetch).</summary>
public sealed class KestrelPlatform : PlatformFactory
{
    private readonly Lazy<Uri> address;

    public KestrelPlatform()
    {
        address = new(() =>
        {
            UseKestrel(0);
            StartServer();
            var bound = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Uri(bound.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        });
    }

    public Uri Address => address.Value;

    public HttpClient Client() => new() { BaseAddress = Address };
}

/// <summary>
/// POST and GET /graphql by the GraphQL-over-HTTP spec: graphql-http's own audit suite run against the started server,
/// then what the audit does not cover (mutations over GET with any media type, 415, 406, legacy application/json).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GraphQLOverHttpTests(KestrelPlatform platform) : IClassFixture<KestrelPlatform>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string GraphQLResponse = "application/graphql-response+json";

    [Fact]
    public async Task The_graphql_http_audit_suite_passes_every_audit()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "graphql-http-audit.mjs");
        var module = Path.Combine(RepoRoot(), "node_modules", "graphql-http", "package.json");
        Assert.True(File.Exists(module), $"graphql-http is not installed ({module} is missing): run `npm ci` in the repository root.");

        var start = new ProcessStartInfo("/usr/bin/env")
        {
            ArgumentList = { "node", script, new Uri(platform.Address, "/graphql").ToString() },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        // A guard against a hang, not a performance threshold.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node exited with {node.ExitCode}: {await stderr}");

        var audits = JsonNode.Parse(await stdout)!.AsArray();
        Assert.True(audits.Count >= 50, $"only {audits.Count} audits ran: {audits.ToJsonString()}");
        var failed = audits
            .Where(a => a!["status"]!.GetValue<string>() != "ok")
            .Select(a => $"{a!["id"]} {a["status"]}: {a["name"]} ({a["reason"]})")
            .ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {audits.Count} audits are not ok:\n" + string.Join("\n", failed));
    }

    [Fact]
    public async Task Queries_run_over_GET_and_a_mutation_over_GET_is_refused_with_405_before_it_runs()
    {
        using var client = platform.Client();
        var query = Uri.EscapeDataString("query($s: ID!) { feature(sae: $s, index: 3) { index } }");
        var variables = Uri.EscapeDataString("{\"s\": \"" + Sae + "\"}");
        using var ok = await client.GetAsync($"/graphql?query={query}&variables={variables}&operationName=");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var okBody = await BodyAsync(ok);
        Assert.True(okBody["errors"] is null, okBody.ToJsonString());
        Assert.Equal(3, okBody["data"]!["feature"]!["index"]!.GetValue<int>());

        const string mutation = "mutation { proposeDescription(sae: \"" + Sae + "\", index: 3, label: \"over GET\", text: \"must not be stored\") { version } }";
        // POSTed without a key first: it runs (and is refused inside), so its document is cached, which skips validation.
        var (_, anonymous) = await PostAsync(client, mutation, accept: null);
        Assert.Equal("UNAUTHENTICATED", PlatformFactory.ErrorCode(anonymous));
        foreach (var accept in new[] { GraphQLResponse, "application/json" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/graphql?query=" + Uri.EscapeDataString(mutation));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PlatformFactory.CuratorKey);
            request.Headers.Accept.ParseAdd(accept);
            using var refused = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
            Assert.Equal("POST", string.Join(",", refused.Content.Headers.Allow));
            var body = await BodyAsync(refused);
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
            Assert.Contains("POST", PlatformFactory.ErrorMessage(body));
        }
        var descriptions = (await platform.DataAsync("{ feature(sae: \"" + Sae + "\", index: 3) { descriptions { label } } }"))["feature"]!["descriptions"]!.AsArray();
        Assert.DoesNotContain(descriptions, d => d!["label"]!.GetValue<string>() == "over GET");

        using var bad = await client.GetAsync($"/graphql?query={query}&variables=%5B1%5D");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("variables", PlatformFactory.ErrorMessage(await BodyAsync(bad)));
    }

    [Fact]
    public async Task The_response_media_type_decides_the_status_of_a_request_that_failed_before_it_ran()
    {
        using var client = platform.Client();
        // application/graphql-response+json: 4xx and no data entry when nothing ran (syntax, validation, variables).
        foreach (var (query, variables) in new (string, object?)[] { ("{ noSuchField }", null), ("{ saes { id ", null), ("query($i: Int!) { __typename }", new { i = "x" }) })
        {
            var (response, body) = await PostAsync(client, query, GraphQLResponse, variables);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(GraphQLResponse, response.Content.Headers.ContentType!.MediaType);
            Assert.False(body.ContainsKey("data"), body.ToJsonString());
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));

            // Legacy clients (application/json, or no Accept) keep 200 with the same errors.
            foreach (var legacy in new[] { "application/json", null })
            {
                var (old, oldBody) = await PostAsync(client, query, legacy, variables);
                Assert.Equal(HttpStatusCode.OK, old.StatusCode);
                Assert.Equal("application/json", old.Content.Headers.ContentType!.MediaType);
                Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(oldBody));
            }
        }
        // Once a request ran, it is 200 even when a field failed: the errors are in the body, beside data.
        var (ran, ranBody) = await PostAsync(client, "{ feature(sae: \"" + Sae + "\", index: 64) { index } }", GraphQLResponse);
        Assert.Equal(HttpStatusCode.OK, ran.StatusCode);
        Assert.True(ranBody.ContainsKey("data"));
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(ranBody));

        // The highest q wins; a type named exactly beats a wildcard; nothing acceptable is 406.
        Assert.Equal("application/json", (await PostAsync(client, "{ __typename }", GraphQLResponse + ";q=0.5, application/json")).Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(GraphQLResponse, (await PostAsync(client, "{ __typename }", "*/*, " + GraphQLResponse)).Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("application/json", (await PostAsync(client, "{ __typename }", "*/*")).Response.Content.Headers.ContentType!.MediaType);
        var (refused, refusedBody) = await PostAsync(client, "{ __typename }", "text/csv");
        Assert.Equal(HttpStatusCode.NotAcceptable, refused.StatusCode);
        AssertErrorShape(refused, refusedBody);
    }

    [Fact]
    public async Task A_POST_is_JSON_in_UTF_8_and_its_unknown_fields_are_ignored()
    {
        using var client = platform.Client();
        foreach (var contentType in new[] { null, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1" })
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"query\": \"{ __typename }\"}"));
            if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await client.PostAsync("/graphql", content);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            var body = await BodyAsync(response);
            AssertErrorShape(response, body);
            Assert.Contains("Content-Type: application/json", PlatformFactory.ErrorMessage(body));
        }
        using var extra = await client.PostAsync("/graphql", new StringContent("{\"query\": \"{ __typename }\", \"persisted\": {\"v\": 1}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, extra.StatusCode);
        Assert.Equal("Query", (await BodyAsync(extra))["data"]!["__typename"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reads_need_a_key_when_anonymous_reads_are_off_and_every_refusal_has_the_one_error_shape()
    {
        await using var closed = new PlatformFactory(new Dictionary<string, string> { ["Esmc:Auth:AllowAnonymousReads"] = "false" });
        var client = closed.CreateClient();

        async Task<(HttpResponseMessage Response, JsonObject Body)> SendAsync(HttpMethod method, string path, string? authorization, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            var response = await client.SendAsync(request);
            return (response, await BodyAsync(response));
        }

        HttpContent Query() => new StringContent("{\"query\": \"{ saes { id } }\"}", Encoding.UTF8, "application/json");
        foreach (var (method, path, content) in new (HttpMethod, string, Func<HttpContent?>)[]
        {
            (HttpMethod.Post, "/graphql", Query), (HttpMethod.Get, "/graphql?query=%7B%20saes%20%7B%20id%20%7D%20%7D", () => null),
            (HttpMethod.Get, "/api/v1/saes", () => null), (HttpMethod.Put, "/api/v1/corpora/refused.fasta", () => new ByteArrayContent(">a\nMKT\n"u8.ToArray())),
        })
        {
            foreach (var (authorization, message) in new (string?, string)[]
            {
                (null, "needs an API key"), ("Bearer not-a-key", "not valid"), ("Basic " + PlatformFactory.ReaderKey, "must be 'Bearer KEY'"), ("Bearer ", "must be 'Bearer KEY'"),
            })
            {
                var (response, body) = await SendAsync(method, path, authorization, content());
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with '{authorization}': {(int)response.StatusCode} {body.ToJsonString()}");
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                AssertErrorShape(response, body);
                Assert.Equal("UNAUTHENTICATED", PlatformFactory.ErrorCode(body));
                Assert.Contains(message, PlatformFactory.ErrorMessage(body));
            }
        }
        // A reader reads; the upload route then asks for its own role, in the same shape.
        var (read, readBody) = await SendAsync(HttpMethod.Post, "/graphql", "Bearer " + PlatformFactory.ReaderKey, Query());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.NotEmpty(readBody["data"]!["saes"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/api/v1/saes", "Bearer " + PlatformFactory.ReaderKey)).Response.StatusCode);
        var (forbidden, forbiddenBody) = await SendAsync(HttpMethod.Put, "/api/v1/corpora/refused.fasta", "Bearer " + PlatformFactory.CuratorKey, new ByteArrayContent(">a\nMKT\n"u8.ToArray()));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        AssertErrorShape(forbidden, forbiddenBody);
        Assert.Equal("Uploading a corpus needs the admin role; the key 'carol' has the curator role.", PlatformFactory.ErrorMessage(forbiddenBody));
        var (missing, missingBody) = await SendAsync(HttpMethod.Get, "/api/v1/saes/no/such/features", "Bearer " + PlatformFactory.ReaderKey);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        AssertErrorShape(missing, missingBody);
        // The schema and the health check stay open.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/graphql/sdl")).StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await client.GetAsync("/healthz")).StatusCode);
    }

    /// <summary>The one error shape (ApiErrors): JSON with only <c>errors</c>, each with a message and <c>extensions.code</c>.</summary>
    private static void AssertErrorShape(HttpResponseMessage response, JsonObject body)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.Equal(["errors"], body.Select(p => p.Key));
        var error = Assert.Single(body["errors"]!.AsArray())!.AsObject();
        Assert.Equal(["message", "extensions"], error.Select(p => p.Key));
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.Equal(["code"], error["extensions"]!.AsObject().Select(p => p.Key));
    }

    private static async Task<(HttpResponseMessage Response, JsonObject Body)> PostAsync(HttpClient client, string query, string? accept, object? variables = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/graphql")
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { query, variables }), Encoding.UTF8, "application/json"),
        };
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        var response = await client.SendAsync(request);
        return (response, await BodyAsync(response));
    }

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No EsmcFeaturePlatform.sln above {AppContext.BaseDirectory}.");
    }
}
