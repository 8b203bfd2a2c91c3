using System.Net;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.TestSupport;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Esmc:Models:Pull: the server pulls its models from a Hub (the loopback <see cref="FakeHub"/>) into an empty model
/// root on start; /healthz says "pulling" meanwhile, and the catalog loads what was pulled once it is done.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ModelPullOnStartTests : IAsyncLifetime
{
    private const string Token = "hf_server_token";
    private readonly FakeHub hub = new();
    private readonly PlatformFactory platform = new();
    private readonly string source = TinyModelRoot.Create("esmc-pull-on-start-source");
    private readonly string folder = Directory.CreateTempSubdirectory("esmc-pull-on-start-").FullName;

    public Task InitializeAsync()
    {
        hub.AddRepository("biohub/ESMC-tiny", Path.Combine(source, TinyModelRoot.ModelName));
        hub.AddRepository("biohub/ESMC-tiny-sae-k4-codebook64", Path.Combine(source, TinyModelRoot.SaeRepository), token: Token);
        platform.Settings["Esmc:ModelRoot"] = Path.Combine(folder, "models");
        platform.Settings["Esmc:Models:Endpoint"] = hub.Endpoint;
        platform.Settings["Esmc:Models:Token"] = Token;
        platform.Settings["Esmc:Models:Pull:0:Repo"] = "biohub/ESMC-tiny";
        platform.Settings["Esmc:Models:Pull:1:Repo"] = "biohub/ESMC-tiny-sae-k4-codebook64";
        platform.Settings["Esmc:Models:Pull:1:Include:0"] = "layer_2.safetensors";
        platform.Settings["Esmc:Models:Pull:1:Include:1"] = "config.json";
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        hub.ReleaseDownloads();
        await platform.DisposeAsync();
        hub.Dispose();
        TempFolders.TryDelete(source);
        TempFolders.TryDelete(folder);
    }

    [Fact]
    public async Task The_server_pulls_its_models_on_start_says_pulling_meanwhile_then_serves_them()
    {
        hub.HoldDownloads();
        var client = platform.CreateClient();

        var during = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        var duringBody = JsonNode.Parse(await during.Content.ReadAsStringAsync())!;
        Assert.Equal("pulling", duringBody["status"]!.GetValue<string>());
        Assert.Equal("unhealthy", duringBody["checks"]!["models"]!["status"]!.GetValue<string>());   // the check that holds the host back

        hub.ReleaseDownloads();
        HttpResponseMessage health;
        var deadline = DateTime.UtcNow.AddMinutes(3);   // guards against a hang; not a performance threshold
        do
        {
            await Task.Delay(200);
            health = await client.GetAsync("/healthz");
        } while (health.StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        var body = JsonNode.Parse(await health.Content.ReadAsStringAsync())!;
        Assert.True(health.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.Equal(1, body["saes"]!.GetValue<int>());

        var saes = (await platform.DataAsync("{ saes { id } }"))["saes"]!.AsArray().Select(s => s!["id"]!.GetValue<string>());
        Assert.Equal(["ESMC-tiny-sae-k4-codebook64/layer2"], saes);
        Assert.True(File.Exists(Path.Combine(folder, "models", "ESMC-tiny", "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(folder, "models", "ESMC-tiny-sae-k4-codebook64", "layer_1.safetensors")));
        Assert.DoesNotContain(hub.Requests, r => r.Host == "cdn" && r.Authorized);
        var analysis = (await platform.DataAsync("{ analyzeSequence(sae: \"ESMC-tiny-sae-k4-codebook64/layer2\", sequence: \"MKTAYIAKQRQISFVK\", normalize: false) { length pooled { index } } }"))["analyzeSequence"]!;
        Assert.Equal(16, analysis["length"]!.GetValue<int>());
    }
}
