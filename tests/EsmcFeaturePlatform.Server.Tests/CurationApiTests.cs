using System.Text.Json.Nodes;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>proposeDescription / reviewDescription / Feature.description(s) / reviewQueue over HTTP (docs/contracts.md, section 3.3).</summary>
[Collection(ClusterCollection.Name)]
public sealed class CurationApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string Propose = "mutation($i: Int!, $l: String!, $t: String!, $e: Int) { proposeDescription(sae: \"" + Sae + "\", index: $i, label: $l, text: $t, expectedVersion: $e) { version label text status source author createdAt score reviewNote } }";
    private const string Review = "mutation($i: Int!, $v: Int!, $d: ReviewDecision!, $n: String) { reviewDescription(sae: \"" + Sae + "\", index: $i, version: $v, decision: $d, note: $n) { version status reviewNote author } }";
    private const string Read = "query($i: Int!) { feature(sae: \"" + Sae + "\", index: $i) { description { version label status } descriptions { version label status source author reviewNote } } }";

    private async Task<JsonNode> ReadAsync(int index) => (await platform.DataAsync(Read, new { i = index }))["feature"]!;

    [Fact]
    public async Task Versions_reviews_and_the_current_description_follow_the_contract()
    {
        const int index = 5;
        Assert.Null((await ReadAsync(index))["description"]);
        Assert.Empty((await ReadAsync(index))["descriptions"]!.AsArray());

        var v1 = (await platform.DataAsync(Propose, new { i = index, l = "P-loop", t = "Fires on the Walker A motif.", e = 0 }, PlatformFactory.CuratorKey))["proposeDescription"]!;
        Assert.Equal(1, v1["version"]!.GetValue<int>());
        Assert.Equal("PROPOSED", v1["status"]!.GetValue<string>());
        Assert.Equal("HUMAN", v1["source"]!.GetValue<string>());
        Assert.Equal("carol", v1["author"]!.GetValue<string>());
        Assert.Null(v1["score"]);
        Assert.EndsWith("Z", v1["createdAt"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(v1["createdAt"]!.GetValue<string>(), out _));
        // No approved version yet: the latest is the description.
        Assert.Equal(1, (await ReadAsync(index))["description"]!["version"]!.GetValue<int>());

        var v2 = (await platform.DataAsync(Propose, new { i = index, l = "ATP binding", t = "Nucleotide-binding loop.", e = 1 }, PlatformFactory.AdminKey))["proposeDescription"]!;
        Assert.Equal(2, v2["version"]!.GetValue<int>());
        Assert.Equal("ops", v2["author"]!.GetValue<string>());
        Assert.Equal(2, (await ReadAsync(index))["description"]!["version"]!.GetValue<int>());

        var approved = (await platform.DataAsync(Review, new { i = index, v = 1, d = "APPROVE", n = "matches the motif" }, PlatformFactory.SecondCuratorKey))["reviewDescription"]!;
        Assert.Equal("APPROVED", approved["status"]!.GetValue<string>());
        Assert.Equal("matches the motif", approved["reviewNote"]!.GetValue<string>());
        // The latest APPROVED version wins over a newer PROPOSED one.
        var feature = await ReadAsync(index);
        Assert.Equal(1, feature["description"]!["version"]!.GetValue<int>());

        await platform.DataAsync(Review, new { i = index, v = 2, d = "APPROVE", n = (string?)null }, PlatformFactory.CuratorKey);
        feature = await ReadAsync(index);
        Assert.Equal(2, feature["description"]!["version"]!.GetValue<int>());
        var history = feature["descriptions"]!.AsArray();
        Assert.Equal(new[] { 1, 2 }, history.Select(v => v!["version"]!.GetValue<int>()));
        Assert.Equal(new[] { "APPROVED", "APPROVED" }, history.Select(v => v!["status"]!.GetValue<string>()));
        Assert.Equal("P-loop", history[0]!["label"]!.GetValue<string>());

        var v3 = (await platform.DataAsync(Propose, new { i = index, l = "Wrong", t = "Not this.", e = (int?)null }, PlatformFactory.CuratorKey))["proposeDescription"]!;
        var rejected = (await platform.DataAsync(Review, new { i = index, v = 3, d = "REJECT", n = "no evidence" }, PlatformFactory.CuratorKey))["reviewDescription"]!;
        Assert.Equal(3, v3["version"]!.GetValue<int>());
        Assert.Equal("REJECTED", rejected["status"]!.GetValue<string>());
        Assert.Equal(2, (await ReadAsync(index))["description"]!["version"]!.GetValue<int>());

        // A reviewed version cannot be reviewed again; an unknown version is NOT_FOUND.
        var (_, again) = await platform.PostAsync(Review, new { i = index, v = 1, d = "REJECT", n = (string?)null }, PlatformFactory.SecondCuratorKey);
        Assert.Equal("CONFLICT", PlatformFactory.ErrorCode(again));
        var (_, missing) = await platform.PostAsync(Review, new { i = index, v = 9, d = "APPROVE", n = (string?)null }, PlatformFactory.CuratorKey);
        Assert.Equal("NOT_FOUND", PlatformFactory.ErrorCode(missing));
        Assert.Equal(3, (await ReadAsync(index))["descriptions"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_stale_expectedVersion_is_a_CONFLICT_and_writes_nothing()
    {
        const int index = 6;
        await platform.DataAsync(Propose, new { i = index, l = "first", t = "first text", e = 0 }, PlatformFactory.CuratorKey);
        var (_, stale) = await platform.PostAsync(Propose, new { i = index, l = "second", t = "second text", e = 0 }, PlatformFactory.CuratorKey);
        Assert.Equal("CONFLICT", PlatformFactory.ErrorCode(stale));
        Assert.Contains("version 1", PlatformFactory.ErrorMessage(stale));
        var history = (await ReadAsync(index))["descriptions"]!.AsArray();
        Assert.Single(history);
        Assert.Equal("first", history[0]!["label"]!.GetValue<string>());
    }

    [Fact]
    public async Task Concurrent_proposals_with_the_same_expectedVersion_let_exactly_one_win()
    {
        const int index = 7;
        const int writers = 12;
        var results = await Task.WhenAll(Enumerable.Range(0, writers).Select(w =>
            platform.PostAsync(Propose, new { i = index, l = $"writer {w}", t = $"text of writer {w}", e = 0 }, PlatformFactory.CuratorKey)));
        var winners = results.Where(r => r.Body["errors"] is null).ToList();
        var losers = results.Where(r => r.Body["errors"] is not null).ToList();
        Assert.Single(winners);
        Assert.Equal(writers - 1, losers.Count);
        Assert.All(losers, l => Assert.Equal("CONFLICT", PlatformFactory.ErrorCode(l.Body)));
        var history = (await ReadAsync(index))["descriptions"]!.AsArray();
        Assert.Single(history);
        Assert.Equal(winners[0].Body["data"]!["proposeDescription"]!["label"]!.GetValue<string>(), history[0]!["label"]!.GetValue<string>());

        // Without expectedVersion, concurrent proposals all land, each with its own version number.
        var free = await Task.WhenAll(Enumerable.Range(0, 6).Select(w =>
            platform.DataAsync(Propose, new { i = index, l = $"free {w}", t = "t", e = (int?)null }, PlatformFactory.CuratorKey)));
        Assert.Equal(Enumerable.Range(2, 6), free.Select(f => f["proposeDescription"]!["version"]!.GetValue<int>()).Order());
    }

    [Fact]
    public async Task Curation_needs_the_curator_role_and_a_refusal_changes_nothing()
    {
        const int index = 9;
        var mutations = new (string Query, object Variables)[]
        {
            (Propose, new { i = index, l = "x", t = "y", e = (int?)null }),
            (Review, new { i = index, v = 1, d = "APPROVE", n = (string?)null }),
            ("mutation { describeFeatures(sae: \"" + Sae + "\", indices: [9]) { id } }", new { }),
        };
        foreach (var (query, variables) in mutations)
        {
            var (_, anonymous) = await platform.PostAsync(query, variables);
            Assert.Equal("UNAUTHENTICATED", PlatformFactory.ErrorCode(anonymous));
            var (_, reader) = await platform.PostAsync(query, variables, PlatformFactory.ReaderKey);
            Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(reader));
            Assert.Contains("curator", PlatformFactory.ErrorMessage(reader));
        }
        Assert.Empty((await ReadAsync(index))["descriptions"]!.AsArray());
    }

    [Theory]
    [InlineData("mutation { proposeDescription(sae: \"" + Sae + "\", index: 3, label: \"  \", text: \"t\") { version } }", "label")]
    [InlineData("mutation { proposeDescription(sae: \"" + Sae + "\", index: 64, label: \"l\", text: \"t\") { version } }", "out of range")]
    [InlineData("mutation { proposeDescription(sae: \"no/such\", index: 1, label: \"l\", text: \"t\") { version } }", "no/such")]
    [InlineData("mutation { proposeDescription(sae: \"" + Sae + "\", index: 3, label: \"l\", text: \"t\", expectedVersion: -1) { version } }", "expectedVersion")]
    [InlineData("mutation { reviewDescription(sae: \"" + Sae + "\", index: 3, version: 0, decision: APPROVE) { version } }", "version")]
    [InlineData("mutation { describeFeatures(sae: \"" + Sae + "\", indices: [1, 99]) { id } }", "out of range")]
    [InlineData("mutation { describeFeatures(sae: \"" + Sae + "\", indices: []) { id } }", "indices")]
    [InlineData("{ reviewQueue(sae: \"" + Sae + "\", after: \"bogus\") { totalCount } }", "after")]
    public async Task Bad_curation_input_is_BAD_USER_INPUT_naming_the_problem(string query, string named)
    {
        var (_, body) = await platform.PostAsync(query, key: PlatformFactory.CuratorKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains(named, PlatformFactory.ErrorMessage(body));
    }

    [Fact]
    public async Task The_review_queue_lists_features_whose_latest_version_awaits_review_page_by_page()
    {
        // Its own SAE, so the other tests' proposals do not show up here.
        const string sae = TestEnvironment.SaeWithPlaceholderStats;
        const string propose = "mutation($i: Int!, $l: String!) { proposeDescription(sae: \"" + sae + "\", index: $i, label: $l, text: \"t\") { version } }";
        foreach (var i in new[] { 30, 11, 20, 40 }) await platform.DataAsync(propose, new { i, l = $"f{i}" }, PlatformFactory.CuratorKey);
        await platform.DataAsync("mutation { reviewDescription(sae: \"" + sae + "\", index: 20, version: 1, decision: APPROVE) { version } }", key: PlatformFactory.SecondCuratorKey);
        await platform.DataAsync("mutation { reviewDescription(sae: \"" + sae + "\", index: 40, version: 1, decision: REJECT) { version } }", key: PlatformFactory.SecondCuratorKey);
        // Feature 40 gets a new proposal after its rejection: it awaits review again.
        await platform.DataAsync(propose, new { i = 40, l = "f40 again" }, PlatformFactory.CuratorKey);

        const string queue = "query($a: String) { reviewQueue(sae: \"" + sae + "\", first: 2, after: $a) { totalCount edges { cursor latestVersion latestSource node { index description { label status } } } pageInfo { hasNextPage endCursor } } }";
        var page1 = (await platform.DataAsync(queue, new { a = (string?)null }))["reviewQueue"]!;
        Assert.Equal(3, page1["totalCount"]!.GetValue<int>());
        Assert.Equal(new[] { 11, 30 }, page1["edges"]!.AsArray().Select(e => e!["node"]!["index"]!.GetValue<int>()));
        Assert.True(page1["pageInfo"]!["hasNextPage"]!.GetValue<bool>());
        Assert.All(page1["edges"]!.AsArray(), e => Assert.Equal("HUMAN", e!["latestSource"]!.GetValue<string>()));
        var page2 = (await platform.DataAsync(queue, new { a = page1["pageInfo"]!["endCursor"]!.GetValue<string>() }))["reviewQueue"]!;
        var last = Assert.Single(page2["edges"]!.AsArray())!;
        Assert.Equal(40, last["node"]!["index"]!.GetValue<int>());
        Assert.Equal(2, last["latestVersion"]!.GetValue<int>());
        Assert.False(page2["pageInfo"]!["hasNextPage"]!.GetValue<bool>());

        var approved = (await platform.DataAsync("{ reviewQueue(sae: \"" + sae + "\", status: APPROVED) { totalCount edges { node { index } } } }"))["reviewQueue"]!;
        Assert.Equal(new[] { 20 }, approved["edges"]!.AsArray().Select(e => e!["node"]!["index"]!.GetValue<int>()));
    }

    private const string Audit = "query($i: Int!) { feature(sae: \"" + Sae + "\", index: $i) { descriptions { version status author createdAt reviewer reviewedAt reviewNote } } }";

    [Fact]
    public async Task Every_version_records_who_proposed_it_and_who_reviewed_it_and_when()
    {
        const int index = 12;
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await platform.DataAsync(Propose, new { i = index, l = "helix cap", t = "N-cap of helices.", e = 0 }, PlatformFactory.CuratorKey);
        await platform.DataAsync(Propose, new { i = index, l = "helix N-cap", t = "Ser/Thr N-cap.", e = 1 }, PlatformFactory.SecondCuratorKey);
        var pending = (await platform.DataAsync(Audit, new { i = index }))["feature"]!["descriptions"]!.AsArray();
        Assert.All(pending, v => { Assert.Null(v!["reviewer"]); Assert.Null(v["reviewedAt"]); });

        await platform.DataAsync(Review, new { i = index, v = 1, d = "APPROVE", n = "ok" }, PlatformFactory.SecondCuratorKey);
        await platform.DataAsync(Review, new { i = index, v = 2, d = "REJECT", n = "too narrow" }, PlatformFactory.CuratorKey);
        var history = (await platform.DataAsync(Audit, new { i = index }))["feature"]!["descriptions"]!.AsArray();
        Assert.Equal(new[] { "carol", "dave" }, history.Select(v => v!["author"]!.GetValue<string>()));
        Assert.Equal(new[] { "dave", "carol" }, history.Select(v => v!["reviewer"]!.GetValue<string>()));
        foreach (var v in history)
        {
            var created = DateTimeOffset.Parse(v!["createdAt"]!.GetValue<string>());
            var reviewed = DateTimeOffset.Parse(v["reviewedAt"]!.GetValue<string>());
            Assert.True(created >= before && reviewed >= created, v.ToJsonString());
            Assert.EndsWith("Z", v["reviewedAt"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_curator_may_not_approve_their_own_proposal_and_the_refusal_says_so()
    {
        const int index = 13;
        await platform.DataAsync(Propose, new { i = index, l = "mine", t = "my own text", e = 0 }, PlatformFactory.CuratorKey);
        var (_, self) = await platform.PostAsync(Review, new { i = index, v = 1, d = "APPROVE", n = (string?)null }, PlatformFactory.CuratorKey);
        Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(self));
        Assert.Contains("proposed by 'carol'", PlatformFactory.ErrorMessage(self));
        Assert.Contains("Esmc:Curation:AllowSelfApproval", PlatformFactory.ErrorMessage(self));
        var history = (await platform.DataAsync(Audit, new { i = index }))["feature"]!["descriptions"]!.AsArray();
        Assert.Equal("PROPOSED", Assert.Single(history)!["status"]!.GetValue<string>());

        // Another curator may; withdrawing one's own proposal (reject) is allowed.
        await platform.DataAsync(Review, new { i = index, v = 1, d = "APPROVE", n = (string?)null }, PlatformFactory.SecondCuratorKey);
        await platform.DataAsync(Propose, new { i = index, l = "mine 2", t = "second try", e = 1 }, PlatformFactory.CuratorKey);
        var withdrawn = (await platform.DataAsync(Review, new { i = index, v = 2, d = "REJECT", n = "withdrawn" }, PlatformFactory.CuratorKey))["reviewDescription"]!;
        Assert.Equal("REJECTED", withdrawn["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reviewing_a_version_twice_says_who_reviewed_it_not_that_someone_saved_a_newer_version()
    {
        const int index = 14;
        await platform.DataAsync(Propose, new { i = index, l = "once", t = "reviewed once", e = 0 }, PlatformFactory.CuratorKey);
        await platform.DataAsync(Review, new { i = index, v = 1, d = "APPROVE", n = (string?)null }, PlatformFactory.SecondCuratorKey);
        var (_, twice) = await platform.PostAsync(Review, new { i = index, v = 1, d = "APPROVE", n = (string?)null }, PlatformFactory.SecondCuratorKey);
        Assert.Equal("CONFLICT", PlatformFactory.ErrorCode(twice));
        var message = PlatformFactory.ErrorMessage(twice);
        Assert.Contains("already APPROVED by 'dave'", message);
        Assert.DoesNotContain("newer version", message);
    }

    [Fact]
    public async Task An_older_proposal_stays_in_the_review_queue_after_a_later_version_is_approved()
    {
        const int index = 15;
        const string queue = "{ reviewQueue(sae: \"" + Sae + "\", first: 100) { pendingVersionCount edges { latestVersion pendingVersions node { index } } } }";
        await platform.DataAsync(Propose, new { i = index, l = "first idea", t = "one", e = 0 }, PlatformFactory.CuratorKey);
        await platform.DataAsync(Propose, new { i = index, l = "second idea", t = "two", e = 1 }, PlatformFactory.CuratorKey);
        await platform.DataAsync(Propose, new { i = index, l = "third idea", t = "three", e = 2 }, PlatformFactory.CuratorKey);
        await platform.DataAsync(Review, new { i = index, v = 2, d = "APPROVE", n = (string?)null }, PlatformFactory.SecondCuratorKey);

        JsonNode? Edge(JsonNode q) => q["edges"]!.AsArray().SingleOrDefault(e => e!["node"]!["index"]!.GetValue<int>() == index);
        var edge = Edge((await platform.DataAsync(queue))["reviewQueue"]!);
        Assert.NotNull(edge);
        Assert.Equal(new[] { 1, 3 }, edge!["pendingVersions"]!.AsArray().Select(v => v!.GetValue<int>()));

        // Reviewing the latest leaves the oldest still waiting; reviewing it too empties the feature's entry.
        await platform.DataAsync(Review, new { i = index, v = 3, d = "REJECT", n = (string?)null }, PlatformFactory.SecondCuratorKey);
        edge = Edge((await platform.DataAsync(queue))["reviewQueue"]!);
        Assert.Equal(new[] { 1 }, edge!["pendingVersions"]!.AsArray().Select(v => v!.GetValue<int>()));
        await platform.DataAsync(Review, new { i = index, v = 1, d = "REJECT", n = (string?)null }, PlatformFactory.SecondCuratorKey);
        Assert.Null(Edge((await platform.DataAsync(queue))["reviewQueue"]!));
    }
}

/// <summary>A single-person deployment: Esmc:Curation:AllowSelfApproval=true lets a curator approve their own proposal, still recorded as its reviewer.</summary>
public sealed class SelfApprovalPlatformFactory() : PlatformFactory(new Dictionary<string, string> { ["Esmc:Curation:AllowSelfApproval"] = "true" });

[Collection(ClusterCollection.Name)]
public sealed class SelfApprovalOptionTests(SelfApprovalPlatformFactory platform) : IClassFixture<SelfApprovalPlatformFactory>
{
    [Fact]
    public async Task With_AllowSelfApproval_a_curator_approves_their_own_proposal_and_is_recorded_as_reviewer()
    {
        const string sae = TestEnvironment.SaeWithRealStats;
        await platform.DataAsync("mutation { proposeDescription(sae: \"" + sae + "\", index: 3, label: \"solo\", text: \"t\") { version } }", key: PlatformFactory.CuratorKey);
        var approved = (await platform.DataAsync("mutation { reviewDescription(sae: \"" + sae + "\", index: 3, version: 1, decision: APPROVE) { status author reviewer } }",
            key: PlatformFactory.CuratorKey))["reviewDescription"]!;
        Assert.Equal("APPROVED", approved["status"]!.GetValue<string>());
        Assert.Equal("carol", approved["author"]!.GetValue<string>());
        Assert.Equal("carol", approved["reviewer"]!.GetValue<string>());
    }
}
