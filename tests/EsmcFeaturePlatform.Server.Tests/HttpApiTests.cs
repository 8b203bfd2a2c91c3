using EsmcFeaturePlatform.Server.Api;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>The started server, end to end over HTTP (one host for the class).</summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string Sequence = "MKTAYIAKQRQISFVKSHFSRQ";

    [Fact]
    public async Task Saes_lists_the_model_roots_saes()
    {
        var data = await platform.DataAsync("{ saes { id model layer k codebookSize hasNormalizationStats } }");
        var saes = data["saes"]!.AsArray();
        var layer2 = saes.Single(s => s!["id"]!.GetValue<string>() == Sae)!;
        Assert.Equal("ESMC-tiny", layer2["model"]!.GetValue<string>());
        Assert.Equal(2, layer2["layer"]!.GetValue<int>());
        Assert.Equal(4, layer2["k"]!.GetValue<int>());
        Assert.Equal(64, layer2["codebookSize"]!.GetValue<int>());
        Assert.True(layer2["hasNormalizationStats"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AnalyzeSequence_returns_the_encoders_raw_and_normalized_features()
    {
        using var encoder = TestEnvironment.OpenEncoder();
        var direct = (await encoder.EncodeAsync(Sae, [Sequence]))[0];
        var stats = encoder.GetCheckpointStatistics(Sae)!;
        const string query = "query($s: String!, $n: Boolean!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s, normalize: $n) { sae length residues { index value position } pooled { index value position feature { index stats { corpusSize } } } } }";

        var raw = (await platform.DataAsync(query, new { s = Sequence, n = false }))["analyzeSequence"]!;
        Assert.Equal(Sequence.Length, raw["length"]!.GetValue<int>());
        var residues = raw["residues"]!.AsArray();
        Assert.Equal(direct.Length, residues.Count);
        for (var r = 0; r < direct.Length; r++)
        {
            Assert.Equal(direct.Residues[r].Select(f => f.Index), residues[r]!.AsArray().Select(f => f!["index"]!.GetValue<int>()));
            Assert.Equal(direct.Residues[r].Select(f => (double)f.Value), residues[r]!.AsArray().Select(f => f!["value"]!.GetValue<double>()), FloatComparer);
            Assert.All(residues[r]!.AsArray(), f => Assert.Null(f!["position"]));
        }
        var pooled = raw["pooled"]!.AsArray();
        Assert.Equal(direct.Pooled.Select(p => (p.Index, p.Position)), pooled.Select(p => (p!["index"]!.GetValue<int>(), p["position"]!.GetValue<int>())));
        Assert.All(pooled, p => Assert.Equal(p!["index"]!.GetValue<int>(), p["feature"]!["index"]!.GetValue<int>()));

        // The checkpoint's own statistics are real for layer 2: value / max * idf, zeros dropped, re-sorted (docs/model-math.md, section 6.6).
        var normalized = (await platform.DataAsync(query, new { s = Sequence, n = true }))["analyzeSequence"]!;
        var expectedPooled = direct.Pooled
            .Select(p => (p.Index, Value: stats.Max[p.Index] > 0 ? p.Value / stats.Max[p.Index] * stats.Idf[p.Index] : 0f, p.Position))
            .Where(p => p.Value > 0).OrderByDescending(p => p.Value).ThenBy(p => p.Index).ToList();
        var actualPooled = normalized["pooled"]!.AsArray();
        Assert.Equal(expectedPooled.Select(p => p.Index), actualPooled.Select(p => p!["index"]!.GetValue<int>()));
        Assert.Equal(expectedPooled.Select(p => (double)p.Value), actualPooled.Select(p => p!["value"]!.GetValue<double>()), FloatComparer);
    }

    [Fact]
    public async Task IndexCorpus_then_job_feature_and_normalizationStats_describe_the_corpus()
    {
        var (path, records) = TestEnvironment.WriteCorpus(16, seed: 21);
        using var encoder = TestEnvironment.OpenEncoder();
        var expected = await ExpectedCorpus.ComputeAsync(encoder, Sae, records, topExamples: 3);

        var job = (await platform.DataAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p, topExamples: 3) { id kind sae status processed } }",
            new { p = path }, PlatformFactory.AdminKey))["indexCorpus"]!;
        Assert.Equal("INDEX_CORPUS", job["kind"]!.GetValue<string>());
        Assert.Equal(Sae, job["sae"]!.GetValue<string>());
        var id = job["id"]!.GetValue<string>();

        JsonNode polled;
        var deadline = DateTime.UtcNow.AddMinutes(2);   // guards against a hang; not a performance threshold
        do
        {
            await Task.Delay(100);
            polled = (await platform.DataAsync("query($id: ID!) { job(id: $id) { id status processed total error } }", new { id }))["job"]!;
        } while (polled["status"]!.GetValue<string>() is "QUEUED" or "RUNNING" && DateTime.UtcNow < deadline);
        Assert.Equal("COMPLETED", polled["status"]!.GetValue<string>());
        Assert.Equal(records.Count, polled["total"]!.GetValue<int>());
        Assert.Equal(records.Count, polled["processed"]!.GetValue<int>());

        var busiest = expected.Stats.OrderByDescending(s => s.Value.DocumentCount).ThenBy(s => s.Key).First().Key;
        var never = Enumerable.Range(0, 64).FirstOrDefault(i => !expected.Stats.ContainsKey(i), -1);
        var data = await platform.DataAsync("query($i: Int!, $all: [Int!]!) { feature(sae: \"" + Sae + "\", index: $i) { sae index stats { index maxActivation documentCount corpusSize idf } topExamples(first: 2) { sequenceId maxValue position sequence activations } description { label } descriptions { version } } normalizationStats(sae: \"" + Sae + "\", indices: $all, source: CORPUS) { index maxActivation documentCount corpusSize idf source } }",
            new { i = busiest, all = Enumerable.Range(0, 64).ToArray() });

        var feature = data["feature"]!;
        Assert.Equal(busiest, feature["index"]!.GetValue<int>());
        Assert.Null(feature["description"]);
        Assert.Empty(feature["descriptions"]!.AsArray());
        var want = expected.Stats[busiest];
        Assert.Equal(want.DocumentCount, feature["stats"]!["documentCount"]!.GetValue<int>());
        Assert.Equal(expected.CorpusSize, feature["stats"]!["corpusSize"]!.GetValue<int>());
        var examples = feature["topExamples"]!.AsArray();
        Assert.Equal(expected.TopExamples[busiest].Take(2).Select(e => e.SequenceId), examples.Select(e => e!["sequenceId"]!.GetValue<string>()));
        foreach (var (w, a) in expected.TopExamples[busiest].Zip(examples))
        {
            Assert.Equal(w.Sequence, a!["sequence"]!.GetValue<string>());
            Assert.Equal(w.Position, a["position"]!.GetValue<int>());
            Assert.Equal(w.Activations.Select(v => (double)v), a["activations"]!.AsArray().Select(v => v!.GetValue<double>()), FloatComparer);
        }

        var all = data["normalizationStats"]!.AsArray();
        Assert.Equal(64, all.Count);
        for (var i = 0; i < 64; i++)
        {
            var s = all[i]!;
            Assert.Equal(i, s["index"]!.GetValue<int>());
            Assert.Equal("CORPUS", s["source"]!.GetValue<string>());
            Assert.Equal(expected.CorpusSize, s["corpusSize"]!.GetValue<int>());
            if (expected.Stats.TryGetValue(i, out var e))
            {
                Assert.Equal(e.DocumentCount, s["documentCount"]!.GetValue<int>());
                Assert.True(FloatComparer.Equals(e.Max, s["maxActivation"]!.GetValue<double>()));
                Assert.Equal(Math.Log((double)expected.CorpusSize / e.DocumentCount), s["idf"]!.GetValue<double>(), 9);
            }
            else
            {
                Assert.Equal(0, s["documentCount"]!.GetValue<int>());
                Assert.Null(s["maxActivation"]);
                Assert.Null(s["idf"]);
            }
        }
        if (never >= 0) Assert.Empty((await platform.DataAsync($"{{ feature(sae: \"{Sae}\", index: {never}) {{ topExamples {{ sequenceId }} }} }}"))["feature"]!["topExamples"]!.AsArray());
    }

    [Fact]
    public async Task Normalizing_without_statistics_is_a_clear_error_until_statistics_are_imported()
    {
        const string placeholderSae = TestEnvironment.SaeWithPlaceholderStats;
        const string query = "{ analyzeSequence(sae: \"" + placeholderSae + "\", sequence: \"" + Sequence + "\", normalize: true) { pooled { index value } } }";
        var (_, refused) = await platform.PostAsync(query);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(refused));
        Assert.Contains("no normalization statistics", PlatformFactory.ErrorMessage(refused));

        var max = Enumerable.Range(0, 64).Select(i => 0.5 + i * 0.25).ToArray();
        var idf = Enumerable.Range(0, 64).Select(i => 1.0 + (i % 7) * 0.5).ToArray();
        var file = Path.Combine(TestEnvironment.CorpusRoot, $"stats-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, new JsonObject { ["max"] = new JsonArray([.. max.Select(v => (JsonNode)v)]), ["idf"] = new JsonArray([.. idf.Select(v => (JsonNode)v)]) }.ToJsonString());
        var imported = await platform.DataAsync("mutation($p: String!) { importNormalizationStats(sae: \"" + placeholderSae + "\", path: $p) { id hasNormalizationStats normalizationSource } }", new { p = file }, PlatformFactory.AdminKey);
        Assert.True(imported["importNormalizationStats"]!["hasNormalizationStats"]!.GetValue<bool>());
        Assert.Equal("IMPORTED", imported["importNormalizationStats"]!["normalizationSource"]!.GetValue<string>());

        using var encoder = TestEnvironment.OpenEncoder();
        var direct = (await encoder.EncodeAsync(placeholderSae, [Sequence]))[0];
        var expected = direct.Pooled.Select(p => (p.Index, Value: (float)(p.Value / (float)max[p.Index] * (float)idf[p.Index])))
            .OrderByDescending(p => p.Value).ThenBy(p => p.Index).ToList();
        var pooled = (await platform.DataAsync(query))["analyzeSequence"]!["pooled"]!.AsArray();
        Assert.Equal(expected.Select(p => p.Index), pooled.Select(p => p!["index"]!.GetValue<int>()));
        Assert.Equal(expected.Select(p => (double)p.Value), pooled.Select(p => p!["value"]!.GetValue<double>()), FloatComparer);

        // A malformed file is refused naming the problem, and the imported statistics stay.
        await File.WriteAllTextAsync(file, "{\"max\": [1, 2], \"idf\": [1, 2]}");
        var (_, bad) = await platform.PostAsync("mutation($p: String!) { importNormalizationStats(sae: \"" + placeholderSae + "\", path: $p) { id } }", new { p = file }, PlatformFactory.AdminKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(bad));
        Assert.Contains("64 features", PlatformFactory.ErrorMessage(bad));
        var again = (await platform.DataAsync(query))["analyzeSequence"]!["pooled"]!.AsArray();
        Assert.Equal(pooled.ToJsonString(), again.ToJsonString());
    }

    [Fact]
    public async Task Mutations_without_the_admin_role_are_refused_and_change_nothing()
    {
        var (path, _) = TestEnvironment.WriteCorpus(4, seed: 31);
        const string stateQuery = "{ saes { id corpusSize normalizationSource } }";
        var before = (await platform.DataAsync(stateQuery)).ToJsonString();
        var index = "mutation($p: String!) { indexCorpus(sae: \"" + TestEnvironment.SaeWithPlaceholderStats + "\", fastaPath: $p) { id } }";
        var import = "mutation($p: String!) { importNormalizationStats(sae: \"" + TestEnvironment.SaeWithPlaceholderStats + "\", path: $p) { id } }";

        foreach (var mutation in new[] { index, import })
        {
            var (_, anonymous) = await platform.PostAsync(mutation, new { p = path });
            Assert.Equal("UNAUTHENTICATED", PlatformFactory.ErrorCode(anonymous));
            Assert.Null(anonymous["data"]?["indexCorpus"]);
            var (_, reader) = await platform.PostAsync(mutation, new { p = path }, PlatformFactory.ReaderKey);
            Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(reader));
            var (_, curator) = await platform.PostAsync(mutation, new { p = path }, PlatformFactory.CuratorKey);
            Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(curator));
            var (status, wrongKey) = await platform.PostAsync(mutation, new { p = path }, "not-a-key");
            Assert.Equal(401, status);
            Assert.Equal("UNAUTHENTICATED", PlatformFactory.ErrorCode(wrongKey));
        }
        Assert.Equal(before, (await platform.DataAsync(stateQuery)).ToJsonString());
        // Reads stay open to readers (and to anonymous callers by default).
        await platform.DataAsync("{ saes { id } }", key: PlatformFactory.ReaderKey);
    }

    [Theory]
    [InlineData("{ analyzeSequence(sae: \"no-such-sae\", sequence: \"MKT\") { length } }", "no-such-sae")]
    [InlineData("{ analyzeSequence(sae: \"" + Sae + "\", sequence: \"\") { length } }", "sequence")]
    [InlineData("{ feature(sae: \"" + Sae + "\", index: 64) { index } }", "out of range")]
    [InlineData("{ feature(sae: \"" + Sae + "\", index: -1) { index } }", "out of range")]
    [InlineData("{ normalizationStats(sae: \"" + Sae + "\", indices: [0, 99]) { index } }", "99")]
    [InlineData("{ feature(sae: \"" + Sae + "\", index: 0) { topExamples(first: -5) { sequenceId } } }", "first")]
    [InlineData("{ feature(sae: \"" + Sae + "\", index: \"zero\") { index } }", "index")]
    [InlineData("{ saes { id ", "")]
    [InlineData("{ noSuchField }", "noSuchField")]
    public async Task Bad_input_is_BAD_USER_INPUT_naming_the_problem(string query, string named)
    {
        var (status, body) = await platform.PostAsync(query);
        Assert.True(status is 200 or 400, $"status {status}");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains(named, PlatformFactory.ErrorMessage(body));
    }

    [Fact]
    public async Task A_too_long_sequence_and_a_missing_corpus_file_name_the_problem()
    {
        var (_, tooLong) = await platform.PostAsync("query($s: String!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s) { length } }", new { s = new string('A', 5000) });
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(tooLong));
        var (_, missing) = await platform.PostAsync("mutation { indexCorpus(sae: \"" + Sae + "\", fastaPath: \"/no/such/file.fasta\") { id } }", key: PlatformFactory.AdminKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(missing));
        Assert.Contains("/no/such/file.fasta", PlatformFactory.ErrorMessage(missing));
        var (_, zero) = await platform.PostAsync("mutation { indexCorpus(sae: \"" + Sae + "\", fastaPath: \"/etc/hostname\", topExamples: 0) { id } }", key: PlatformFactory.AdminKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(zero));
        Assert.Contains("topExamples", PlatformFactory.ErrorMessage(zero));
    }

    [Fact]
    public async Task Malformed_bodies_oversized_bodies_and_deep_queries_get_GraphQL_errors_not_500s()
    {
        var client = platform.CreateClient();
        foreach (var body in new[] { "{\"query\": ", "not json at all", "[1, 2]", "{\"variables\": {}}" })
        {
            var response = await client.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject()));
        }
        var huge = await client.PostAsync("/graphql", new StringContent("{\"query\": \"" + new string(' ', 70000) + "{ saes { id } }\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(413, (int)huge.StatusCode);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(JsonNode.Parse(await huge.Content.ReadAsStringAsync())!.AsObject()));

        var deep = "{ __schema { types { fields { type " + string.Concat(Enumerable.Repeat("{ ofType ", 16)) + "{ name }" + new string('}', 16) + " } } } }";
        var (_, tooDeep) = await platform.PostAsync(deep);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(tooDeep));
        Assert.Null(tooDeep["data"]);
        var (_, again) = await platform.PostAsync(deep);   // a refused document is never cached
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(again));
    }

    [Fact]
    public async Task A_body_without_Content_Length_is_cut_off_at_the_limit_while_it_is_read()
    {
        // A chunked upload has no length to check up front (the in-memory test server always sends one, so the
        // reader is driven directly): the limit holds across many small reads, and a body at the limit is whole.
        const int max = 1024;
        var over = await GraphQLEndpoints.ReadLimitedAsync(PipeReader.Create(new MemoryStream(new byte[max + 1]), new StreamPipeReaderOptions(bufferSize: 100)), max, default);
        Assert.Null(over);
        var bytes = Enumerable.Range(0, max).Select(i => (byte)i).ToArray();
        var atLimit = await GraphQLEndpoints.ReadLimitedAsync(PipeReader.Create(new MemoryStream(bytes), new StreamPipeReaderOptions(bufferSize: 100)), max, default);
        Assert.NotNull(atLimit);
        Assert.Equal(bytes, atLimit.Value.Bytes.AsSpan(0, atLimit.Value.Length).ToArray());
        System.Buffers.ArrayPool<byte>.Shared.Return(atLimit.Value.Bytes);
    }

    [Fact]
    public async Task A_repeated_query_text_runs_from_the_document_cache_with_each_requests_own_variables()
    {
        const string query = "query($i: Int!) { feature(sae: \"" + Sae + "\", index: $i) { index } }";
        for (var round = 0; round < 2; round++)   // the second round is served by cached documents
        {
            Assert.Equal(3, (await platform.DataAsync(query, new { i = 3 }))["feature"]!["index"]!.GetValue<int>());
            Assert.Equal(5, (await platform.DataAsync(query, new { i = 5 }))["feature"]!["index"]!.GetValue<int>());
            var (_, outOfRange) = await platform.PostAsync(query, new { i = 64 });
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(outOfRange));
            var (_, missing) = await platform.PostAsync(query);   // variable validation still runs on a cached document
            Assert.NotNull(missing["errors"]);
            Assert.Contains("$i", PlatformFactory.ErrorMessage(missing));
        }
    }

    [Fact]
    public async Task Unknown_job_is_null_and_healthz_answers()
    {
        var data = await platform.DataAsync("{ a: job(id: \"index-0000\") { id } b: job(id: \"whatever\") { id } }");
        Assert.Null(data["a"]);
        Assert.Null(data["b"]);
        var health = await platform.CreateClient().GetAsync("/healthz");
        Assert.Equal(200, (int)health.StatusCode);
        // No Esmc:Safety:SequenceDatabase here: /healthz says sequence screening is off (keywords stay on).
        var screening = JsonNode.Parse(await health.Content.ReadAsStringAsync())!["screening"]!;
        Assert.Equal(("off", "on"), (screening["sequences"]!.GetValue<string>(), screening["keywords"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_committed_SDL_equals_the_served_schema()
    {
        var served = await platform.CreateClient().GetStringAsync("/graphql/sdl");
        var file = Path.Combine(RepositoryRoot(), "schemas", "graphql.sdl");
        if (Environment.GetEnvironmentVariable("ESMC_UPDATE_SCHEMAS") == "1") await File.WriteAllTextAsync(file, served);
        var committed = File.Exists(file) ? (await File.ReadAllTextAsync(file)).ReplaceLineEndings("\n") : "";
        Assert.True(committed == served,
            "schemas/graphql.sdl differs from the schema the server serves. If the change is intended, regenerate it with:\n" +
            "  ESMC_UPDATE_SCHEMAS=1 dotnet test tests/EsmcFeaturePlatform.Server.Tests --filter \"FullyQualifiedName~The_committed_SDL\"");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.slnx")) || File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Repository root (EsmcFeaturePlatform.sln) not found above " + AppContext.BaseDirectory);
    }

    private static readonly IEqualityComparer<double> FloatComparer = new ApproximateComparer();

    private sealed class ApproximateComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= 1e-5 * Math.Max(1, Math.Abs(x));
        public int GetHashCode(double obj) => 0;
    }
}
