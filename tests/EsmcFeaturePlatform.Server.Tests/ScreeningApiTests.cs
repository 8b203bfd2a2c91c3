using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.GraphQL;
using EsmcFeaturePlatform.Safety;
using EsmcFeaturePlatform.TestSupport;
using GraphQL.Types;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// The started server with a controlled-protein database of generated proteins (no real hazard is in the repository):
/// the files it screens, the database file itself, and the platform.
/// </summary>
public sealed class ScreeningPlatform : IAsyncDisposable
{
    public ScreeningPlatform()
    {
        var generator = new SyntheticProteins(seed: 1414);
        Controlled = [.. Enumerable.Range(0, 6).Select(_ => generator.Protein(120, 300))];
        Benign = [.. Enumerable.Range(0, 4).Select(_ => generator.Protein(40, 90))];
        DatabasePath = Path.Combine(Path.GetTempPath(), $"esmc-controlled-{Guid.NewGuid():N}.fasta");
        File.WriteAllLines(DatabasePath, Controlled.SelectMany((s, i) => new[] { $">HAZ{i} generated stand-in category={(i % 2 == 0 ? "toxin" : "select_agent")}", s }));
        Platform = new PlatformFactory(new Dictionary<string, string> { ["Esmc:Safety:SequenceDatabase"] = DatabasePath });
    }

    public string[] Controlled { get; }

    public string[] Benign { get; }

    public string DatabasePath { get; }

    public PlatformFactory Platform { get; }

    public async ValueTask DisposeAsync()
    {
        await Platform.DisposeAsync();
        File.Delete(DatabasePath);
    }
}

/// <summary>Screening at every door of the running server, the audit log behind it, and the list that proves each door is screened.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ScreeningApiTests(ScreeningPlatform screening) : IClassFixture<ScreeningPlatform>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string Analyze = "query($s: String!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s) { length } }";
    private const string Search = "query($q: String!) { searchFeatures(query: $q, first: 5) { totalCount } }";
    private const string Events = "query($f: Int, $a: String) { screeningEvents(first: $f, after: $a) { totalCount edges { cursor node { time caller clientHash entryPoint subject kind sha256 length content entry category identity alignmentLength action } } pageInfo { hasNextPage endCursor } } }";

    private PlatformFactory Platform => screening.Platform;

    [Fact]
    public async Task A_controlled_sequence_is_refused_without_saying_what_matched_and_audited()
    {
        var hazard = screening.Controlled[2];
        // Lower case, split over two chains and with 20% of its residues substituted: still caught.
        var disguised = new SyntheticProteins(5).Substitute(hazard, 0.2);
        disguised = (disguised[..70] + "|" + disguised[70..]).ToLowerInvariant();
        var (status, body) = await Platform.PostAsync(Analyze, new { s = disguised });
        Assert.Equal(200, status);
        Assert.Equal("SCREENED", PlatformFactory.ErrorCode(body));
        var message = PlatformFactory.ErrorMessage(body);
        Assert.Equal(Screening.RefusalMessage, message);
        Assert.DoesNotContain("HAZ", message);
        Assert.DoesNotContain("toxin", body["errors"]![0]!.ToJsonString().Replace("toxins", "", StringComparison.Ordinal));
        Assert.True(body["data"] is null || body["data"]!["analyzeSequence"] is null);

        // A benign protein is answered as before.
        var benign = await Platform.DataAsync(Analyze, new { s = screening.Benign[0] });
        Assert.Equal(screening.Benign[0].Length, benign["analyzeSequence"]!["length"]!.GetValue<int>());

        var prepared = ProteinSequenceInput.Prepare(disguised, "the sequence").Residues;
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prepared)));
        var logged = await FindEventAsync(e => e["sha256"]!.GetValue<string>() == sha);
        Assert.Equal(ScreeningEntryPoints.AnalyzeSequence, logged["entryPoint"]!.GetValue<string>());
        Assert.Equal("anonymous", logged["caller"]!.GetValue<string>());
        // The in-memory test server has no client address, so no client hash here (ScreeningPolicyTests covers the hash).
        Assert.Equal(("SEQUENCE", "HAZ2", "toxin", "BLOCKED"), (logged["kind"]!.GetValue<string>(), logged["entry"]!.GetValue<string>(),
            logged["category"]!.GetValue<string>(), logged["action"]!.GetValue<string>()));
        Assert.Equal(prepared.Length, logged["length"]!.GetValue<int>());
        Assert.Null(logged["content"]);   // Esmc:Safety:StoreSequences is off
        Assert.InRange(logged["identity"]!.GetValue<double>(), 0.75, 0.85);
        Assert.InRange(logged["alignmentLength"]!.GetValue<int>(), 100, hazard.Length + 5);
    }

    [Fact]
    public async Task The_same_sequence_asked_twice_in_one_request_is_screened_and_audited_once()
    {
        var hazard = screening.Controlled[3];
        var (_, body) = await Platform.PostAsync(
            "query($s: String!) { a: analyzeSequence(sae: \"" + Sae + "\", sequence: $s) { length } b: analyzeSequence(sae: \"" + Sae + "\", sequence: $s, normalize: true) { length } }",
            new { s = hazard });
        Assert.All(body["errors"]!.AsArray(), e => Assert.Equal("SCREENED", e!["extensions"]!["code"]!.GetValue<string>()));
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hazard)));
        var all = await AllEventsAsync();
        Assert.Single(all, e => e["sha256"]!.GetValue<string>() == sha);
    }

    [Fact]
    public async Task A_search_for_a_controlled_agent_or_toxin_is_refused_and_audited_with_the_callers_key()
    {
        var (_, body) = await Platform.PostAsync(Search, new { q = "label:\"Ricin A-chain\"" }, PlatformFactory.ReaderKey);
        Assert.Equal("SCREENED", PlatformFactory.ErrorCode(body));
        Assert.DoesNotContain("icin", PlatformFactory.ErrorMessage(body));
        var ok = await Platform.DataAsync(Search, new { q = "ricinoleic acid OR kinase*" }, PlatformFactory.ReaderKey);
        Assert.NotNull(ok["searchFeatures"]!["totalCount"]);

        var logged = await FindEventAsync(e => e["entryPoint"]!.GetValue<string>() == ScreeningEntryPoints.SearchFeatures && e["caller"]!.GetValue<string>() == "alice");
        Assert.Equal(("KEYWORD", "ricin", "keyword"), (logged["kind"]!.GetValue<string>(), logged["entry"]!.GetValue<string>(), logged["category"]!.GetValue<string>()));
        Assert.Null(logged["clientHash"]);   // a keyed caller is named, not hashed
    }

    [Fact]
    public async Task Only_admins_read_the_audit_log_and_it_pages_newest_first()
    {
        var (_, anonymous) = await Platform.PostAsync(Events, new { f = 5 });
        Assert.Equal("UNAUTHENTICATED", PlatformFactory.ErrorCode(anonymous));
        foreach (var key in new[] { PlatformFactory.ReaderKey, PlatformFactory.CuratorKey })
        {
            var (_, refused) = await Platform.PostAsync(Events, new { f = 5 }, key);
            Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(refused));
        }

        for (var i = 0; i < 2; i++) await Platform.PostAsync(Search, new { q = $"saxitoxin {i}" });
        var first = (await Platform.DataAsync(Events, new { f = 1 }, PlatformFactory.AdminKey))["screeningEvents"]!;
        var total = first["totalCount"]!.GetValue<int>();
        Assert.True(total >= 2);
        Assert.True(first["pageInfo"]!["hasNextPage"]!.GetValue<bool>());
        var second = (await Platform.DataAsync(Events, new { f = 1, a = first["pageInfo"]!["endCursor"]!.GetValue<string>() }, PlatformFactory.AdminKey))["screeningEvents"]!;
        Assert.Equal(total, second["totalCount"]!.GetValue<int>());
        var newer = DateTimeOffset.Parse(first["edges"]![0]!["node"]!["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        var older = DateTimeOffset.Parse(second["edges"]![0]!["node"]!["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(newer >= older);
        Assert.NotEqual(first["edges"]![0]!["cursor"]!.GetValue<string>(), second["edges"]![0]!["cursor"]!.GetValue<string>());

        var (_, bad) = await Platform.PostAsync(Events, new { f = 1, a = "not-a-cursor" }, PlatformFactory.AdminKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(bad));
    }

    [Fact]
    public async Task Indexing_skips_and_reports_controlled_records_and_goes_on()
    {
        var path = Path.Combine(TestEnvironment.CorpusRoot, $"esmc-screened-corpus-{Guid.NewGuid():N}.fasta");
        try
        {
            var records = new List<(string Id, string Sequence)>
            {
                ("ok1", screening.Benign[0]), ("bad1", screening.Controlled[0]), ("ok2", screening.Benign[1]),
                ("ok3", screening.Benign[2]), ("bad2", new SyntheticProteins(9).Embed(screening.Controlled[1][..60], 200).ToLowerInvariant()),
            };
            await File.WriteAllLinesAsync(path, records.SelectMany(r => new[] { $">{r.Id}", r.Sequence }));
            var sae = TestEnvironment.SaeWithPlaceholderStats;
            var job = (await Platform.DataAsync("mutation($s: ID!, $p: String!) { indexCorpus(sae: $s, fastaPath: $p) { id } }", new { s = sae, p = path }, PlatformFactory.AdminKey))["indexCorpus"]!;
            var done = await WaitForJobAsync(job["id"]!.GetValue<string>());
            Assert.Equal("COMPLETED", done["status"]!.GetValue<string>());
            Assert.Equal((5, 5, 2), (done["total"]!.GetValue<int>(), done["processed"]!.GetValue<int>(), done["screened"]!.GetValue<int>()));
            var saes = (await Platform.DataAsync("{ saes { id corpusSize } }"))["saes"]!.AsArray();
            Assert.Equal(3, saes.Single(s => s!["id"]!.GetValue<string>() == sae)!["corpusSize"]!.GetValue<int>());

            var logged = await FindEventAsync(e => e["entryPoint"]!.GetValue<string>() == ScreeningEntryPoints.IndexCorpus && e["subject"]!.GetValue<string>().Contains("'bad2'", StringComparison.Ordinal));
            Assert.Equal(("ops", "HAZ1", "select_agent"), (logged["caller"]!.GetValue<string>(), logged["entry"]!.GetValue<string>(), logged["category"]!.GetValue<string>()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Healthz_says_what_is_screened()
    {
        var health = JsonNode.Parse(await Platform.CreateClient().GetStringAsync("/healthz"))!;
        Assert.Equal("on", health["screening"]!["sequences"]!.GetValue<string>());
        Assert.Equal(screening.Controlled.Length, health["screening"]!["sequenceEntries"]!.GetValue<int>());
        Assert.Equal("on", health["screening"]!["keywords"]!.GetValue<string>());
        Assert.Equal("Block", health["screening"]!["action"]!.GetValue<string>());
    }

    /// <summary>
    /// Every GraphQL argument that takes text (String or ID, or a list of them) and every route is listed here: as
    /// screened, with a request that proves it, or as carrying no sequence and no search text, with the reason. A new
    /// field, argument or route fails this test until someone decides which it is (and screens it if it takes a
    /// sequence or a query).
    /// </summary>
    [Fact]
    public async Task Every_entry_point_that_takes_a_sequence_or_a_query_is_screened()
    {
        var hazard = screening.Controlled[5];
        var screened = new Dictionary<string, Func<Task>>
        {
            ["Query.analyzeSequence(sequence)"] = async () =>
                Assert.Equal("SCREENED", PlatformFactory.ErrorCode((await Platform.PostAsync(Analyze, new { s = hazard }, PlatformFactory.ReaderKey)).Body)),
            ["Query.searchFeatures(query)"] = async () =>
                Assert.Equal("SCREENED", PlatformFactory.ErrorCode((await Platform.PostAsync(Search, new { q = "botulinum neurotoxin" })).Body)),
            ["Mutation.indexCorpus(fastaPath)"] = async () =>
            {
                var path = Path.Combine(TestEnvironment.CorpusRoot, $"esmc-screened-probe-{Guid.NewGuid():N}.fasta");
                await File.WriteAllTextAsync(path, $">probe-hazard\n{hazard}\n");
                try
                {
                    var job = (await Platform.DataAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p) { id } }", new { p = path }, PlatformFactory.AdminKey))["indexCorpus"]!;
                    Assert.Equal(1, (await WaitForJobAsync(job["id"]!.GetValue<string>()))["screened"]!.GetValue<int>());
                }
                finally { File.Delete(path); }
            },
        };
        var notSequencesOrQueries = new Dictionary<string, string>
        {
            ["sae"] = "an SAE id, checked against the catalog",
            ["after"] = "a page cursor",
            ["Query.job(id)"] = "a job id",
            ["Mutation.importNormalizationStats(path)"] = "a JSON file of per-feature numbers; it holds no sequences",
            ["Mutation.importFeatureDataset(path)"] = "a parquet file of published feature descriptions and statistics (admin); it holds no sequences",
            ["Mutation.importFeatureDataset(dataset)"] = "a dataset name recorded as provenance",
            ["Mutation.importFeatureDataset(revision)"] = "a revision recorded as provenance",
            ["Mutation.proposeDescription(label)"] = "a curated description, stored for review, never a search",
            ["Mutation.proposeDescription(text)"] = "a curated description, stored for review, never a search",
            ["Mutation.reviewDescription(note)"] = "a reviewer's note",
        };

        var schema = Platform.Services.GetRequiredService<ISchema>();
        schema.Initialize();
        var arguments = new List<string>();
        foreach (var type in schema.AllTypes.OfType<IObjectGraphType>().Where(t => !t.Name.StartsWith("__", StringComparison.Ordinal)))
            foreach (var field in type.Fields)
                foreach (var argument in field.Arguments ?? [])
                    if (TakesText(argument.ResolvedType!)) arguments.Add($"{type.Name}.{field.Name}({argument.Name})");
        var unclassified = arguments.Where(a => !screened.ContainsKey(a) && !notSequencesOrQueries.ContainsKey(a) && !notSequencesOrQueries.ContainsKey(ArgumentName(a))).ToList();
        Assert.True(unclassified.Count == 0,
            "GraphQL arguments that take text are not classified for biosecurity screening: " + string.Join(", ", unclassified) +
            ". If one carries a protein sequence or a search text, screen it (IResolveFieldContext.ScreenSequenceAsync / ScreenTextAsync, one call in its resolver) and add a probe here; otherwise list it with the reason.");
        Assert.All(screened.Keys, key => Assert.Contains(key, arguments));
        foreach (var probe in screened.Values) await probe();

        var routes = new Dictionary<string, string>
        {
            ["/healthz"] = "takes no input",
            ["/metrics"] = "takes no input (mapped only with Esmc:Telemetry:Prometheus)",
            ["/graphql/sdl"] = "takes no input",
            ["/graphql"] = "GraphQL: every argument is classified above",
            ["/api/v1/saes"] = "takes no input",
            ["/api/v1/saes/{**rest}"] = "an SAE id, feature indices and page numbers (exports and feature pages)",
            ["/api/v1/structures/alphafold/{uniprotId}"] = "a UniProt accession; the structure's chain sequence is analyzed (and screened) through analyzeSequence",
            ["/api/v1/corpora/{name}"] = "an admin's corpus upload, stored as a file; every record is screened when indexCorpus reads it",
        };
        var mapped = Platform.Services.GetServices<EndpointDataSource>().SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText ?? "").Distinct().ToList();
        var unknownRoutes = mapped.Where(r => !routes.ContainsKey(r)).ToList();
        Assert.True(unknownRoutes.Count == 0,
            "Routes not classified for biosecurity screening: " + string.Join(", ", unknownRoutes) +
            ". A route that takes a sequence or a query must screen it through IScreeningPolicy (HTTP 403 on a block); list it here with a probe or the reason it needs none.");
    }

    private static string ArgumentName(string key) => key[(key.IndexOf('(') + 1)..^1];

    private static bool TakesText(IGraphType type) => type switch
    {
        NonNullGraphType nonNull => TakesText(nonNull.ResolvedType!),
        ListGraphType list => TakesText(list.ResolvedType!),
        _ => type is StringGraphType or IdGraphType,
    };

    private async Task<JsonNode> WaitForJobAsync(string id)
    {
        JsonNode polled;
        var deadline = DateTime.UtcNow.AddMinutes(3);   // guards against a hang; not a performance threshold
        do
        {
            await Task.Delay(100);
            polled = (await Platform.DataAsync("query($id: ID!) { job(id: $id) { id status processed total screened error } }", new { id }))["job"]!;
        } while (polled["status"]!.GetValue<string>() is "QUEUED" or "RUNNING" && DateTime.UtcNow < deadline);
        return polled;
    }

    private async Task<List<JsonNode>> AllEventsAsync()
    {
        var events = new List<JsonNode>();
        string? after = null;
        while (true)
        {
            var page = (await Platform.DataAsync(Events, new { f = 100, a = after }, PlatformFactory.AdminKey))["screeningEvents"]!;
            events.AddRange(page["edges"]!.AsArray().Select(e => e!["node"]!));
            if (!page["pageInfo"]!["hasNextPage"]!.GetValue<bool>()) return events;
            after = page["pageInfo"]!["endCursor"]!.GetValue<string>();
        }
    }

    private async Task<JsonNode> FindEventAsync(Func<JsonNode, bool> match)
    {
        var found = (await AllEventsAsync()).Where(match).ToList();
        Assert.True(found.Count > 0, "no matching screening event in the audit log");
        return found[0];
    }
}
