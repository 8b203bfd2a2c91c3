using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>Issue 16, finding 5: mutations that fail on storage answer UNAVAILABLE with a retry hint, never INTERNAL, and change nothing.</summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageFaultApiTests
{
    private const string Sae = TestEnvironment.SaeWithRealStats;

    [Fact]
    public async Task Mutations_refused_by_storage_answer_UNAVAILABLE_with_a_retry_hint_and_a_retry_succeeds()
    {
        var faults = new StorageFaults();
        await using var platform = new PlatformFactory { ConfigureServices = s => s.AddSingleton<HttpPipelinePolicy>(faults) };
        await platform.DataAsync("{ saes { id } }");

        // indexCorpus whose job-state write is refused.
        var (path, records) = TestEnvironment.WriteCorpus(6, seed: 166);
        const string index = "mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p, topExamples: 3) { id status } }";
        faults.Refuse(r => r.IsStateWrite("indexingjob"), times: 1);
        var (_, refused) = await platform.PostAsync(index, new { p = path }, PlatformFactory.AdminKey);
        Assert.Equal("UNAVAILABLE", PlatformFactory.ErrorCode(refused));
        Assert.Contains("Storage is unavailable", PlatformFactory.ErrorMessage(refused));
        Assert.Equal(5, refused["errors"]![0]!["extensions"]!["retryAfterSeconds"]!.GetValue<int>());
        var started = await platform.DataAsync(index, new { p = path }, PlatformFactory.AdminKey);
        var jobId = started["indexCorpus"]!["id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow.AddMinutes(2);   // a bound so a broken job fails the test; not a performance threshold
        string status;
        do
        {
            await Task.Delay(100);
            status = (await platform.DataAsync("query($id: ID!) { job(id: $id) { status } }", new { id = jobId }))["job"]!["status"]!.GetValue<string>();
        } while (status is "QUEUED" or "RUNNING" && DateTime.UtcNow < deadline);
        Assert.Equal("COMPLETED", status);

        // proposeDescription whose write is refused: nothing stored, the same proposal then succeeds as version 1.
        const string propose = "mutation { proposeDescription(sae: \"" + Sae + "\", index: 3, label: \"L\", text: \"T\", expectedVersion: 0) { version } }";
        faults.Refuse(r => r.IsStateWrite("feature/") || r.IsStateWrite("feature-"), times: 1);
        var (_, proposeRefused) = await platform.PostAsync(propose, key: PlatformFactory.CuratorKey);
        Assert.Equal("UNAVAILABLE", PlatformFactory.ErrorCode(proposeRefused));
        var proposed = await platform.DataAsync(propose, key: PlatformFactory.CuratorKey);
        Assert.Equal(1, proposed["proposeDescription"]!["version"]!.GetValue<int>());
        Assert.Equal(2, faults.Injected);
    }
}
