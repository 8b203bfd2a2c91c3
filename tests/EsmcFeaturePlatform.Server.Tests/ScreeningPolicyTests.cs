using Azure.Data.Tables;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Safety;
using EsmcFeaturePlatform.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>The screening policy's decisions (Block, Flag, exempt roles) and its audit table, on Azurite.</summary>
public sealed class ScreeningPolicyTests : IAsyncLifetime
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"esmc-policy-db-{Guid.NewGuid():N}.fasta");
    private readonly string _hazard = new SyntheticProteins(seed: 77).Protein(150);

    public ScreeningPolicyTests() => TestEnvironment.EnsureAzurite();

    public Task InitializeAsync() => File.WriteAllTextAsync(_database, $">H1 category=toxin\n{_hazard}\n");

    public Task DisposeAsync()
    {
        File.Delete(_database);
        return Task.CompletedTask;
    }

    private static ScreeningAuditTable NewAuditTable() =>
        new(new TableServiceClient(TestStorage.ConnectionString), ScreeningAuditTable.TableNameFor(TestEnvironment.UniqueName("policy")));

    private Task<ScreeningPolicy> PolicyAsync(ScreeningAuditTable audit, Action<SafetyOptions>? configure = null)
    {
        var options = new SafetyOptions { SequenceDatabase = _database };
        configure?.Invoke(options);
        return ScreeningPolicy.CreateAsync(options, audit, NullLogger<ScreeningPolicy>.Instance);
    }

    private static ScreeningRequest Request(string role, string? address = null) =>
        new("test:entry", new ScreeningCaller(role == "anonymous" ? "anonymous" : "key-" + role, role, address));

    [Fact]
    public async Task Block_blocks_except_exempt_roles_and_Flag_answers_and_every_match_is_audited()
    {
        var audit = NewAuditTable();
        var block = await PolicyAsync(audit, o => o.ExemptRoles = "admin");
        Assert.True((await block.ScreenSequenceAsync(_hazard, Request("reader"))).Blocked);
        var exempt = await block.ScreenSequenceAsync(_hazard, Request("admin"));
        Assert.False(exempt.Blocked);
        Assert.Equal("H1", exempt.Hit?.Entry);
        var flag = await PolicyAsync(audit, o => o.Action = ScreeningAction.Flag);
        var flagged = await flag.ScreenSequenceAsync(_hazard, Request("reader"));
        Assert.False(flagged.Blocked);
        Assert.Equal("toxin", flagged.Hit?.Category);
        Assert.False((await flag.ScreenTextAsync("tetrodotoxin assay", Request("reader"))).Blocked);

        // A clear input is not audited; the four matches are, newest first.
        Assert.Equal(ScreeningVerdict.Clear, await block.ScreenSequenceAsync(new SyntheticProteins(1).Protein(300), Request("reader")));
        var page = await audit.ReadAsync(10, null);
        Assert.Equal(4, page.TotalCount);
        Assert.Equal(["FLAGGED", "FLAGGED", "ALLOWED_EXEMPT", "BLOCKED"], page.Edges.Select(e => e.Event.Action));
        Assert.Equal(["key-reader", "key-reader", "key-admin", "key-reader"], page.Edges.Select(e => e.Event.Caller));
        Assert.All(page.Edges, e => Assert.Null(e.Event.Content));
    }

    [Fact]
    public async Task Anonymous_callers_are_a_salted_hash_of_their_address_and_sequences_are_stored_only_when_asked()
    {
        var audit = NewAuditTable();
        var policy = await PolicyAsync(audit, o => o.StoreSequences = true);
        await policy.ScreenSequenceAsync(_hazard.ToLowerInvariant(), Request("anonymous", "192.0.2.7"));
        await policy.ScreenSequenceAsync(_hazard, Request("anonymous", "192.0.2.7"));
        await policy.ScreenSequenceAsync(_hazard, Request("anonymous", "192.0.2.8"));
        var events = (await audit.ReadAsync(10, null)).Edges.Select(e => e.Event).Reverse().ToList();
        Assert.Equal(3, events.Count);
        Assert.Equal(events[0].ClientHash, events[1].ClientHash);
        Assert.NotEqual(events[1].ClientHash, events[2].ClientHash);
        var unsalted = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("192.0.2.7"u8.ToArray()));
        Assert.DoesNotContain(events[0].ClientHash!, unsalted);
        Assert.Equal(_hazard, events[0].Content);   // after the input rule: upper case
        Assert.Equal(events[0].Sha256, events[1].Sha256);
        Assert.Equal(_hazard.Length, events[0].Length);

        // A second process on the same table uses the same salt.
        var again = new ScreeningAuditTable(new TableServiceClient(TestStorage.ConnectionString), audit.TableName);
        Assert.Equal(events[0].ClientHash, await again.HashClientAddressAsync("192.0.2.7"));
    }

    [Fact]
    public async Task Without_a_database_sequence_screening_is_off_and_the_status_says_so()
    {
        var policy = await ScreeningPolicy.CreateAsync(new SafetyOptions(), NewAuditTable(), NullLogger<ScreeningPolicy>.Instance);
        Assert.False(policy.Status.SequenceScreening);
        Assert.Contains("sequence screening OFF", policy.Status.Summary);
        Assert.True(policy.Status.KeywordScreening);
        Assert.Equal(ScreeningVerdict.Clear, await policy.ScreenSequenceAsync(_hazard, Request("reader")));
        Assert.True((await policy.ScreenTextAsync("anthrax", Request("reader"))).Blocked);
        var none = await ScreeningPolicy.CreateAsync(new SafetyOptions { Keywords = "none" }, NewAuditTable(), NullLogger<ScreeningPolicy>.Instance);
        Assert.False(none.Status.KeywordScreening);
        Assert.False((await none.ScreenTextAsync("anthrax", Request("reader"))).Blocked);
    }
}
