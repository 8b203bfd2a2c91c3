using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// describeFeatures with the evidence-only describer (no Esmc:Agent:Endpoint) over a small annotated UniProt corpus,
/// then searchFeatures over the descriptions and curation edits, all over HTTP against the real host.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DescribeAndSearchApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string Search = "query($q: String!, $f: Int!, $a: String, $st: [DescriptionStatus!]) { searchFeatures(query: $q, sae: \"" + Sae + "\", first: $f, after: $a, status: $st) { totalCount edges { cursor score highlights { field snippets } node { index description { label text status } } } pageInfo { hasNextPage endCursor } } }";

    [Fact]
    public async Task DescribeFeatures_writes_evidence_descriptions_for_active_features_only()
    {
        // Its own SAE: the search tests below write descriptions into layer 2.
        const string sae = TestEnvironment.SaeWithPlaceholderStats;
        await ApiTestHelpers.IndexAsync(platform, sae, ApiTestHelpers.WriteUniProtSubset(12));

        var started = (await platform.DataAsync("mutation { describeFeatures(sae: \"" + sae + "\") { id kind sae status total } }", key: PlatformFactory.CuratorKey))["describeFeatures"]!;
        Assert.Equal("DESCRIBE_FEATURES", started["kind"]!.GetValue<string>());
        Assert.Equal(sae, started["sae"]!.GetValue<string>());
        var job = await ApiTestHelpers.WaitForJobAsync(platform, started["id"]!.GetValue<string>());
        Assert.Equal("COMPLETED", job["status"]!.GetValue<string>());
        Assert.Equal(64, job["total"]!.GetValue<int>());
        Assert.Equal(64, job["processed"]!.GetValue<int>());

        var features = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
            (await platform.DataAsync("query($i: Int!) { feature(sae: \"" + sae + "\", index: $i) { index stats { documentCount } description { label text status source author score } descriptions { version } } }", new { i }))["feature"]!));
        var active = features.Where(f => f["stats"]!["documentCount"]!.GetValue<int>() > 0).ToList();
        var inactive = features.Where(f => f["stats"]!["documentCount"]!.GetValue<int>() == 0).ToList();
        Assert.NotEmpty(active);
        // A feature that never fired has nothing to describe: nothing is stored for it.
        Assert.All(inactive, f => Assert.Empty(f["descriptions"]!.AsArray()));
        var described = active.Where(f => f["description"] is not null).ToList();
        Assert.NotEmpty(described);
        foreach (var f in described)
        {
            var d = f["description"]!;
            Assert.Equal("PROPOSED", d["status"]!.GetValue<string>());
            Assert.Equal("EVIDENCE", d["source"]!.GetValue<string>());
            Assert.Equal("evidence-only", d["author"]!.GetValue<string>());
            Assert.False(string.IsNullOrWhiteSpace(d["label"]!.GetValue<string>()));
            Assert.False(string.IsNullOrWhiteSpace(d["text"]!.GetValue<string>()));
            Assert.Single(f["descriptions"]!.AsArray());
        }
        // Active features without a description are failures, and the job says so (they are never stored).
        var failed = active.Count - described.Count;
        if (failed > 0) Assert.Contains($"{failed} of 64", job["error"]!.GetValue<string>());
        else Assert.Null(job["error"]);

        // The describe job's versions enter the review queue like any proposal.
        var queue = (await platform.DataAsync("{ reviewQueue(sae: \"" + sae + "\", source: EVIDENCE, first: 100) { totalCount } }"))["reviewQueue"]!;
        Assert.Equal(described.Count, queue["totalCount"]!.GetValue<int>());

        // Statistics reach the search index too: an empty query with a document-count filter lists the active features.
        var indexed = await ApiTestHelpers.SearchUntilAsync(platform, "{ searchFeatures(query: \"\", sae: \"" + sae + "\", first: 100, minDocumentCount: 1) { totalCount edges { node { index } } } }",
            new { }, r => r["totalCount"]!.GetValue<int>() == active.Count);
        Assert.Equal(active.Select(f => f["index"]!.GetValue<int>()).Order(), ApiTestHelpers.Indices(indexed).Order());

        // A second run over a subset adds a new version per described feature (a new job, a new proposal).
        var firstDescribed = described[0]["index"]!.GetValue<int>();
        var again = (await platform.DataAsync("mutation($i: [Int!]) { describeFeatures(sae: \"" + sae + "\", indices: $i) { id total } }", new { i = new[] { firstDescribed, firstDescribed } }, PlatformFactory.AdminKey))["describeFeatures"]!;
        Assert.Equal(1, again["total"]!.GetValue<int>());
        Assert.Equal("COMPLETED", (await ApiTestHelpers.WaitForJobAsync(platform, again["id"]!.GetValue<string>()))["status"]!.GetValue<string>());
        var history = (await platform.DataAsync("query($i: Int!) { feature(sae: \"" + sae + "\", index: $i) { descriptions { version source } } }", new { i = firstDescribed }))["feature"]!["descriptions"]!.AsArray();
        Assert.Equal(new[] { 1, 2 }, history.Select(v => v!["version"]!.GetValue<int>()));

        // Search finds the evidence description by a word of its label, within a few seconds of the write.
        var label = described[0]["description"]!["label"]!.GetValue<string>();
        var word = label.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.All(char.IsLetter)).OrderByDescending(w => w.Length).First();
        var found = await ApiTestHelpers.SearchUntilAsync(platform, "query($q: String!) { searchFeatures(query: $q, sae: \"" + sae + "\", first: 100) { totalCount edges { node { index } } } }",
            new { q = word }, r => ApiTestHelpers.Indices(r).Contains(firstDescribed));
        Assert.Contains(firstDescribed, ApiTestHelpers.Indices(found));
    }

    [Fact]
    public async Task A_description_change_is_searchable_within_seconds_with_highlights()
    {
        const int index = 21;
        await platform.DataAsync("mutation { proposeDescription(sae: \"" + Sae + "\", index: 21, label: \"zinc finger\", text: \"Fires on the cysteines of C2H2 zinc fingers.\") { version } }", key: PlatformFactory.CuratorKey);
        var hit = await ApiTestHelpers.SearchUntilAsync(platform, Search, new { q = "\"zinc finger\"", f = 10 }, r => ApiTestHelpers.Indices(r).Contains(index));
        var edge = Assert.Single(hit["edges"]!.AsArray())!;
        Assert.Equal(index, edge["node"]!["index"]!.GetValue<int>());
        Assert.Equal("zinc finger", edge["node"]!["description"]!["label"]!.GetValue<string>());
        Assert.True(edge["score"]!.GetValue<double>() > 0);
        Assert.Contains(edge["highlights"]!.AsArray(), h => h!["snippets"]!.AsArray().Any(s => s!.GetValue<string>().Contains("<em>", StringComparison.Ordinal)));

        // A newer approved version replaces the searchable text.
        await platform.DataAsync("mutation { proposeDescription(sae: \"" + Sae + "\", index: 21, label: \"transmembrane helix\", text: \"Hydrophobic membrane-spanning segment.\", expectedVersion: 1) { version } }", key: PlatformFactory.CuratorKey);
        await platform.DataAsync("mutation { reviewDescription(sae: \"" + Sae + "\", index: 21, version: 2, decision: APPROVE) { version } }", key: PlatformFactory.SecondCuratorKey);
        var moved = await ApiTestHelpers.SearchUntilAsync(platform, Search, new { q = "transmembrane", f = 10 }, r => ApiTestHelpers.Indices(r).Contains(index));
        Assert.Contains(index, ApiTestHelpers.Indices(moved));
        var old = await ApiTestHelpers.SearchUntilAsync(platform, Search, new { q = "zinc", f = 10 }, r => !ApiTestHelpers.Indices(r).Contains(index));
        Assert.DoesNotContain(index, ApiTestHelpers.Indices(old));
        var approvedOnly = await ApiTestHelpers.SearchUntilAsync(platform, Search, new { q = "transmembrane", f = 10, st = new[] { "APPROVED" } }, r => ApiTestHelpers.Indices(r).Contains(index));
        Assert.Contains(index, ApiTestHelpers.Indices(approvedOnly));
        var proposedOnly = (await platform.DataAsync(Search, new { q = "transmembrane", f = 10, st = new[] { "PROPOSED" } }))["searchFeatures"]!;
        Assert.DoesNotContain(index, ApiTestHelpers.Indices(proposedOnly));
    }

    [Fact]
    public async Task Search_pages_with_cursors_and_rebuild_restores_the_documents()
    {
        foreach (var i in new[] { 31, 32, 33 })
            await platform.DataAsync("mutation($i: Int!) { proposeDescription(sae: \"" + Sae + "\", index: $i, label: \"serine kinase\", text: \"Kinase catalytic loop.\") { version } }", new { i }, PlatformFactory.CuratorKey);
        var all = await ApiTestHelpers.SearchUntilAsync(platform, Search, new { q = "kinase", f = 10 }, r => r["totalCount"]!.GetValue<int>() == 3);
        Assert.Equal(3, all["totalCount"]!.GetValue<int>());

        var page1 = (await platform.DataAsync(Search, new { q = "kinase", f = 2 }))["searchFeatures"]!;
        Assert.Equal(2, page1["edges"]!.AsArray().Count);
        Assert.True(page1["pageInfo"]!["hasNextPage"]!.GetValue<bool>());
        var page2 = (await platform.DataAsync(Search, new { q = "kinase", f = 2, a = page1["pageInfo"]!["endCursor"]!.GetValue<string>() }))["searchFeatures"]!;
        Assert.False(page2["pageInfo"]!["hasNextPage"]!.GetValue<bool>());
        Assert.Equal(new[] { 31, 32, 33 }, ApiTestHelpers.Indices(page1).Concat(ApiTestHelpers.Indices(page2)).Order());

        var (_, forbidden) = await platform.PostAsync("mutation { rebuildSearchIndex(sae: \"" + Sae + "\") }", key: PlatformFactory.CuratorKey);
        Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(forbidden));
        var rebuilt = (await platform.DataAsync("mutation { rebuildSearchIndex(sae: \"" + Sae + "\") }", key: PlatformFactory.AdminKey))["rebuildSearchIndex"]!.GetValue<int>();
        Assert.True(rebuilt >= 3, $"rebuilt {rebuilt} documents");
        var after = (await platform.DataAsync(Search, new { q = "kinase", f = 10 }))["searchFeatures"]!;
        Assert.Equal(new[] { 31, 32, 33 }, ApiTestHelpers.Indices(after).Order());
    }

    [Theory]
    [InlineData("label:(", "query")]
    [InlineData("\"unclosed", "query")]
    public async Task Malformed_search_syntax_is_BAD_USER_INPUT(string q, string named)
    {
        var (status, body) = await platform.PostAsync(Search, new { q, f = 5 });
        Assert.Equal(200, status);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains(named, PlatformFactory.ErrorMessage(body));
    }

    [Fact]
    public async Task Bad_search_arguments_are_BAD_USER_INPUT()
    {
        var (_, first) = await platform.PostAsync(Search, new { q = "x", f = 101 });
        Assert.Contains("first", PlatformFactory.ErrorMessage(first));
        var (_, after) = await platform.PostAsync(Search, new { q = "x", f = 5, a = "not-a-cursor" });
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(after));
        Assert.Contains("after", PlatformFactory.ErrorMessage(after));
        var (_, sae) = await platform.PostAsync("{ searchFeatures(query: \"x\", sae: \"nope\") { totalCount } }");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(sae));
    }

    [Fact]
    public async Task AnalyzeSequence_pooled_features_carry_their_description_and_stats()
    {
        const string sequence = "MKTAYIAKQRQISFVKSHFSRQ";
        var pooled = (await platform.DataAsync("{ analyzeSequence(sae: \"" + Sae + "\", sequence: \"" + sequence + "\") { pooled { index } } }"))["analyzeSequence"]!["pooled"]!.AsArray();
        // A feature the other tests of this class leave alone.
        var target = pooled.Select(p => p!["index"]!.GetValue<int>()).First(i => i is not (21 or 31 or 32 or 33));
        await platform.DataAsync("mutation($i: Int!) { proposeDescription(sae: \"" + Sae + "\", index: $i, label: \"pooled check\", text: \"t\") { version } }", new { i = target }, PlatformFactory.CuratorKey);
        var analysis = (await platform.DataAsync("{ analyzeSequence(sae: \"" + Sae + "\", sequence: \"" + sequence + "\") { pooled { index feature { index description { label } stats { corpusSize } } } } }"))["analyzeSequence"]!["pooled"]!.AsArray();
        var described = analysis.Single(p => p!["index"]!.GetValue<int>() == target)!;
        Assert.Equal("pooled check", described["feature"]!["description"]!["label"]!.GetValue<string>());
        Assert.All(analysis, p => Assert.NotNull(p!["feature"]!["stats"]));
    }

    [Fact]
    public async Task A_describe_result_replayed_by_a_resumed_job_is_stored_once()
    {
        // What a job revived after a lost silo does when it redoes its last chunk: the same job stores again.
        var grains = platform.Services.GetRequiredService<IGrainFactory>();
        var feature = grains.GetGrain<IFeatureGrain>(new FeatureKey(Sae, 50).ToString());
        var generated = new GeneratedDescription("describe-replay-test", "helix cap", "N-cap of helices.", DescriptionSource.Agent, "test-model", 0.75);
        var first = await feature.AddGeneratedDescriptionAsync(generated);
        var replay = await feature.AddGeneratedDescriptionAsync(generated with { Label = "different answer" });
        Assert.Equal(first, replay);
        var other = await feature.AddGeneratedDescriptionAsync(generated with { JobId = "describe-another-job" });
        Assert.Equal(first.Version + 1, other.Version);
        var history = (await platform.DataAsync("{ feature(sae: \"" + Sae + "\", index: 50) { descriptions { version label source author score status } } }"))["feature"]!["descriptions"]!.AsArray();
        Assert.Equal(2, history.Count);
        Assert.Equal("AGENT", history[0]!["source"]!.GetValue<string>());
        Assert.Equal("test-model", history[0]!["author"]!.GetValue<string>());
        Assert.Equal(0.75, history[0]!["score"]!.GetValue<double>());
        Assert.Equal("PROPOSED", history[0]!["status"]!.GetValue<string>());
    }
}
