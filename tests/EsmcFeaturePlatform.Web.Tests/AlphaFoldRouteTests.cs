using System.Net;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Server.Api;
using Xunit;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>
/// GET /api/v1/structures/alphafold/{uniprotId} over real HTTP, against AlphaFold DB's protocol served on loopback
/// (<see cref="FakeAlphaFold"/>); and the client's own limits (timeout, size cap, an unreachable host).
/// </summary>
[Collection(WebCollection.Name)]
public sealed class AlphaFoldRouteTests(WebPlatform platform)
{
    private static readonly string Pdb = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "pdb", "1hpv.pdb"));

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(string id)
    {
        var response = await platform.Http.GetAsync("/api/v1/structures/alphafold/" + Uri.EscapeDataString(id));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static (string Code, string Message) Error(string body)
    {
        var error = JsonNode.Parse(body)!["errors"]![0]!;
        return (error["extensions"]!["code"]!.GetValue<string>(), error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_known_accession_returns_the_model_file_and_is_fetched_upstream_once()
    {
        var file = $"/files/AF-{FakeAlphaFold.Known}-F1-model_v4.pdb";
        var (status, body, response) = await GetAsync(FakeAlphaFold.Known.ToLowerInvariant());   // accessions are case-insensitive
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Pdb, body);
        Assert.Equal("chemical/x-pdb", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("pdb", response.Headers.GetValues("X-Esmc-Structure-Format").Single());
        Assert.Equal($"AF-{FakeAlphaFold.Known}-F1", response.Headers.GetValues("X-Esmc-Structure-Entry").Single());
        var fetched = platform.AlphaFold.Count(file);
        Assert.True(fetched >= 1);

        var again = await GetAsync(FakeAlphaFold.Known);
        Assert.Equal(Pdb, again.Body);
        Assert.Equal(fetched, platform.AlphaFold.Count(file));   // served from the cache
    }

    [Theory]
    [InlineData("XYZ")]
    [InlineData("P0336")]
    [InlineData("P03367-2; rm")]
    [InlineData("1HPV")]
    public async Task A_malformed_accession_is_refused_before_anything_is_fetched(string id)
    {
        var requests = platform.AlphaFold.Requests.Values.Sum();
        var (status, body, _) = await GetAsync(id);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var (code, message) = Error(body);
        Assert.Equal("BAD_USER_INPUT", code);
        Assert.Contains("not a UniProt accession", message);
        Assert.Equal(requests, platform.AlphaFold.Requests.Values.Sum());
    }

    [Theory]
    [InlineData(FakeAlphaFold.Unknown)]
    [InlineData(FakeAlphaFold.EmptyList)]
    public async Task An_accession_AlphaFold_DB_does_not_have_is_404_with_a_message(string id)
    {
        var (status, body, _) = await GetAsync(id);
        Assert.Equal(HttpStatusCode.NotFound, status);
        var (code, message) = Error(body);
        Assert.Equal("NOT_FOUND", code);
        Assert.Equal($"AlphaFold DB has no prediction for UniProt accession {id}.", message);
    }

    [Fact]
    public async Task An_upstream_failure_is_502_and_says_so()
    {
        var (status, body, _) = await GetAsync(FakeAlphaFold.Failing);
        Assert.Equal(HttpStatusCode.BadGateway, status);
        var (code, message) = Error(body);
        Assert.Equal(AlphaFoldEndpoints.UpstreamErrorCode, code);
        Assert.Contains("answered HTTP 503", message);
    }

    [Fact]
    public async Task A_model_url_on_another_host_is_refused()
    {
        var (status, body, _) = await GetAsync(FakeAlphaFold.Elsewhere);
        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains("example.invalid", Error(body).Message);
        Assert.Contains("refused", Error(body).Message);
    }

    [Fact]
    public async Task The_client_stops_at_its_timeout_its_size_cap_and_an_unreachable_host()
    {
        using (var client = new AlphaFoldClient(new AlphaFoldOptions { BaseUrl = platform.AlphaFold.BaseUrl, TimeoutSeconds = 1 }))
        {
            var slow = await client.FetchAsync(FakeAlphaFold.Slow, CancellationToken.None);
            Assert.Null(slow.Model);
            Assert.Equal(504, slow.Error!.Status);
            Assert.Contains("Esmc:AlphaFold:TimeoutSeconds", slow.Error.Message);
        }
        using (var client = new AlphaFoldClient(new AlphaFoldOptions { BaseUrl = platform.AlphaFold.BaseUrl, MaxMegabytes = 1 }))
        {
            var huge = await client.FetchAsync(FakeAlphaFold.Huge, CancellationToken.None);
            Assert.Equal(502, huge.Error!.Status);
            Assert.Contains("larger than 1 MiB", huge.Error.Message);
            Assert.NotNull((await client.FetchAsync(FakeAlphaFold.Known, CancellationToken.None)).Model);   // a normal model still fits
        }
        using (var client = new AlphaFoldClient(new AlphaFoldOptions { BaseUrl = $"http://127.0.0.1:{LoopbackPorts.Free()}/api/" }))
        {
            var down = await client.FetchAsync(FakeAlphaFold.Known, CancellationToken.None);
            Assert.Equal(502, down.Error!.Status);
            Assert.Contains("cannot be reached", down.Error.Message);
        }
        Assert.Throws<ArgumentException>(() => new AlphaFoldOptions { BaseUrl = "ftp://x/" }.Validate());
    }
}
