using System.Net;
using System.Net.Http.Headers;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>A host with small limits, so that the rate limiter's charge by cost and the size limits show in a few requests.</summary>
public sealed class TightLimitsPlatform() : PlatformFactory(new Dictionary<string, string>
{
    ["Esmc:RateLimit:AnonymousPermitsPerMinute"] = "15",
    ["Esmc:RateLimit:CostPerPermit"] = "100",
    ["Esmc:Api:MaxDocumentChars"] = "2000",
    ["Esmc:Corpus:MaxUploadBytes"] = "1000",
});

[Collection(ClusterCollection.Name)]
public sealed class TightLimitsTests(TightLimitsPlatform platform) : IClassFixture<TightLimitsPlatform>
{
    [Fact]
    public async Task The_rate_limiter_charges_a_request_by_its_cost()
    {
        // Before: every request took one permit, whatever it asked for. Now 1,103 cost units take 12 of the 15 permits.
        const string costly = "query($s: String!) { analyzeSequence(sae: \"" + TestEnvironment.SaeWithRealStats + "\", sequence: $s) { length } }";
        var variables = new { s = new string('M', 1_100) };
        var (first, _) = await platform.PostAsync(costly, variables);
        Assert.Equal(200, first);
        var client = platform.CreateClient();
        var second = await client.PostAsync("/graphql", new StringContent(System.Text.Json.JsonSerializer.Serialize(new { query = costly, variables }), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.True(second.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await second.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("OVERLOADED", PlatformFactory.ErrorCode(body));
        Assert.Contains("cost", PlatformFactory.ErrorMessage(body));
        // A cheap request still fits what is left.
        await platform.DataAsync("{ saes { id } }");
    }

    [Fact]
    public async Task Documents_and_uploads_past_their_size_limits_are_refused_naming_the_setting()
    {
        var (_, body) = await platform.PostAsync("{ saes { id } }" + new string(' ', 2_100), key: PlatformFactory.ReaderKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains("Esmc:Api:MaxDocumentChars", PlatformFactory.ErrorMessage(body));

        var name = $"too-big-{Guid.NewGuid():N}.fasta";
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/corpora/" + name) { Content = new ByteArrayContent(new byte[5_000]) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PlatformFactory.AdminKey);
        var response = await platform.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("Esmc:Corpus:MaxUploadBytes", await response.Content.ReadAsStringAsync());
        Assert.False(File.Exists(Path.Combine(TestEnvironment.CorpusRoot, name)));
        Assert.Empty(Directory.GetFiles(TestEnvironment.CorpusRoot, ".upload-*"));
    }
}
