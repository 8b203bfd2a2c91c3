using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Issue 15: every request has a bounded cost. Each test is one finding of the attack campaign, reproduced against the
/// real host over HTTP: the document is refused before it is expanded, validated or run, with BAD_USER_INPUT naming
/// the limit, and the answer is small.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RequestLimitsTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;

    /// <summary>Fragment Li spreads L(i-1) twice: 2^depth fields once expanded, from a document of a few hundred bytes.</summary>
    public static string FragmentDoubling(int depth) =>
        "query { ...L" + depth + " }\nfragment L0 on Query { saes { id } }\n"
        + string.Concat(Enumerable.Range(1, depth).Select(i => $"fragment L{i} on Query {{ ...L{i - 1} ...L{i - 1} }}\n"));

    [Theory]
    [InlineData(20)]
    [InlineData(60)]
    public async Task Fragment_doubling_is_refused_before_it_is_expanded(int depth)
    {
        // Before: depth 20 ran for 1.2 s of CPU and answered, 25 ran away past 4 GB.
        var (status, body) = await platform.PostAsync(FragmentDoubling(depth));
        Assert.Equal(200, status);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains("Esmc:Api:MaxFields", PlatformFactory.ErrorMessage(body));
        Assert.Null(body["data"]);
    }

    [Fact]
    public async Task Many_fields_under_one_response_name_get_one_short_error()
    {
        // Before: 200 such fields made a 17 KB request answer with 19,900 errors (5.3 MB); 3,000 ran for minutes.
        // Aliased (as found): more aliases than Esmc:Api:MaxAliases; unaliased: the linear merge check names the conflict.
        foreach (var (alias, count, expected) in new[] { ("f: ", 200, "MaxAliases"), ("", 200, "different aliases"), ("", 900, "different aliases") })
        {
            var query = "query($s: ID!) {" + string.Concat(Enumerable.Range(0, count).Select(i => $" {alias}feature(sae: $s, index: {i % 64}) {{ index }}")) + " }";
            var (status, body) = await platform.PostAsync(query, new { s = Sae });
            Assert.Equal(200, status);
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
            Assert.Single(body["errors"]!.AsArray());
            Assert.Contains(expected, PlatformFactory.ErrorMessage(body));
            Assert.True(body.ToJsonString().Length < 1_000, body.ToJsonString().Length.ToString());
        }
        // Identical fields under one name still merge, as the specification says.
        var same = await platform.DataAsync("{ f: feature(sae: \"" + Sae + "\", index: 3) { index } f: feature(sae: \"" + Sae + "\", index: 3) { index } }");
        Assert.Equal(3, same["f"]!["index"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_introspection_query_of_graphql_js_and_graphiql_is_within_every_limit()
    {
        // graphql 16.15.0 getIntrospectionQuery() with its defaults (typeDepth 9), as graphql clients send it.
        var query = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "graphql", "introspection.graphql"));
        var data = await platform.DataAsync(query);
        Assert.Equal("Query", data["__schema"]!["queryType"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Too_many_fields_aliases_or_characters_are_refused_naming_the_limit()
    {
        var fields = "{" + string.Concat(Enumerable.Range(0, 2_100).Select(i => " saes { id }")) + " }";
        var aliases = "{" + string.Concat(Enumerable.Range(0, 101).Select(i => $" a{i}: saes {{ id }}")) + " }";
        foreach (var (query, option) in new[] { (fields, "MaxFields"), (aliases, "MaxAliases") })
        {
            var (_, body) = await platform.PostAsync(query);
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
            Assert.Contains("Esmc:Api:" + option, PlatformFactory.ErrorMessage(body));
        }
    }

    [Fact]
    public async Task A_document_nested_past_the_parsers_limit_is_bad_input_and_is_not_logged()
    {
        // Before: INTERNAL, and the whole query was logged with a stack trace.
        foreach (var levels in new[] { 70, 5_000 })
        {
            var marker = "dm" + levels;
            var query = "{" + string.Concat(Enumerable.Repeat($" {marker} {{", levels)) + " id" + new string('}', levels) + " }";
            var (status, body) = await platform.PostAsync(query);
            Assert.Equal(200, status);
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
            Assert.Contains("nested", PlatformFactory.ErrorMessage(body));
            Assert.DoesNotContain(platform.Logs.Lines, line => line.Contains(marker, StringComparison.Ordinal));
        }
        var values = "{ normalizationStats(sae: \"" + Sae + "\", indices: " + new string('[', 200) + new string(']', 200) + ") { index } }";
        var (_, nestedValue) = await platform.PostAsync(values);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(nestedValue));
    }

    [Fact]
    public async Task A_subscription_and_type_definitions_are_refused_clearly()
    {
        // Before: a subscription was INTERNAL, and a type definition beside a query was ignored (the query ran).
        var (_, subscription) = await platform.PostAsync("subscription { saes { id } }");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(subscription));
        Assert.Contains("Subscriptions are not supported", PlatformFactory.ErrorMessage(subscription));

        var (_, typed) = await platform.PostAsync("type Evil { x: Int }\n{ saes { id } }");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(typed));
        Assert.Contains("object type definition", PlatformFactory.ErrorMessage(typed));
        Assert.Null(typed["data"]);
    }

    [Fact]
    public async Task Analyses_and_fuzzy_search_terms_are_charged_against_a_budget_before_they_run()
    {
        // Before: 1,000 analyzeSequence aliases cost 9.8 s of CPU and 800 fuzzy terms 6.9 s, for anonymous callers.
        var sequence = new string('A', 120);
        var analyses = "query($s: String!) {" + string.Concat(Enumerable.Range(0, 90).Select(i => $" a{i}: analyzeSequence(sae: \"{Sae}\", sequence: $s) {{ length }}")) + " }";
        var (_, anonymous) = await platform.PostAsync(analyses, new { s = sequence });
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(anonymous));
        Assert.Contains("Esmc:Api:AnonymousMaxCost", PlatformFactory.ErrorMessage(anonymous));
        Assert.Null(anonymous["data"]);
        // A key has the larger budget, so the same request runs.
        var keyed = await platform.DataAsync(analyses, new { s = sequence }, PlatformFactory.ReaderKey);
        Assert.Equal(120, keyed["a89"]!["length"]!.GetValue<int>());

        var fuzzy = string.Join(" ", Enumerable.Range(0, 1_200).Select(i => $"kinase{i}~2"));
        var (_, search) = await platform.PostAsync("query($q: String!) { searchFeatures(query: $q, first: 5) { totalCount } }", new { q = fuzzy }, PlatformFactory.ReaderKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(search));
        Assert.Contains("Esmc:Api:MaxCost", PlatformFactory.ErrorMessage(search));
    }

    [Fact]
    public async Task Error_messages_quote_at_most_a_short_escaped_excerpt_of_the_input()
    {
        var sae = "X" + new string('y', 10_000) + "\n<script>";
        var (_, body) = await platform.PostAsync("query($s: ID!) { feature(sae: $s, index: 0) { index } }", new { s = sae });
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        var message = PlatformFactory.ErrorMessage(body);
        Assert.Contains("(10010 characters)", message);
        Assert.True(message.Length < 400, message);
        Assert.DoesNotContain("<script>", message);

        var (_, notJson) = await platform.PostAsync("{ saes { id } " + new string('}', 30_000));
        Assert.True(PlatformFactory.ErrorMessage(notJson).Length <= 500);
    }

    [Fact]
    public async Task A_job_error_is_shown_only_to_roles_that_may_start_the_job_and_never_quotes_the_file()
    {
        // Before: the error quoted the file's first 40 characters to anyone holding the job id.
        var secret = "TOPSECRET-" + Guid.NewGuid().ToString("N");
        var file = Path.Combine(TestEnvironment.CorpusRoot, $"not-a-corpus-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, secret + "\nmore\n");
        var job = (await platform.DataAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p) { id } }", new { p = file }, PlatformFactory.AdminKey))["indexCorpus"]!;
        var id = job["id"]!.GetValue<string>();
        var done = await ApiTestHelpers.WaitForJobAsync(platform, id);
        Assert.Equal("FAILED", done["status"]!.GetValue<string>());

        const string query = "query($id: ID!) { job(id: $id) { status error } }";
        foreach (var key in new[] { null, PlatformFactory.ReaderKey, PlatformFactory.CuratorKey })
            Assert.Null((await platform.DataAsync(query, new { id }, key))["job"]!["error"]);
        var error = (await platform.DataAsync(query, new { id }, PlatformFactory.AdminKey))["job"]!["error"]!.GetValue<string>();
        Assert.Contains(Path.GetFileName(file), error);
        Assert.Contains("expected a FASTA header", error);
        Assert.DoesNotContain("TOPSECRET", error);
    }

    [Fact]
    public async Task Hostile_documents_from_a_seeded_fuzzer_never_get_INTERNAL_and_answer_within_bounds()
    {
        var random = new Random(15);
        var client = platform.CreateClient();
        for (var i = 0; i < 300; i++)
        {
            var document = HostileDocuments.Next(random);
            var payload = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { query = document }));
            // A guard against a hang, not a performance threshold.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var response = await client.PostAsync("/graphql", new ByteArrayContent(payload) { Headers = { { "Content-Type", "application/json" } } }, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            Assert.True((int)response.StatusCode is 200 or 400 or 413, $"#{i}: {(int)response.StatusCode} for {Excerpt(document)}");
            Assert.True(text.Length < 20_000, $"#{i}: {text.Length} characters for {Excerpt(document)}");
            var body = JsonNode.Parse(text)!.AsObject();
            if (body["errors"] is JsonArray errors)
                foreach (var error in errors)
                    Assert.True(error!["extensions"]!["code"]!.GetValue<string>() != "INTERNAL", $"#{i}: INTERNAL for {Excerpt(document)}: {text}");
        }
    }

    private static string Excerpt(string text) => text.Length <= 200 ? text : text[..200] + "...";
}

/// <summary>Malformed and hostile GraphQL documents, drawn from a seeded generator (the same run every time).</summary>
internal static class HostileDocuments
{
    private static readonly string[] Fields = ["saes", "feature(sae: \"S\", index: 1)", "job(id: \"x\")", "__schema", "__typename", "searchFeatures(query: \"a~\")", "normalizationStats(sae: \"S\", indices: [1])", "nope", "analyzeSequence(sae: \"S\", sequence: \"MKT\")"];
    private static readonly string[] Junk = ["{", "}", "(", ")", "[", "]", "...", "$", "@skip", "\"", "\\u0000", "\u00e9", "\ud83d\ude00", ":", "!", "=", "#", "fragment", "on", "query", "mutation", "subscription", "type", "schema", "directive", "extend", "1e999", "-0", "99999999999999999999", "null", "true"];

    public static string Next(Random random) => random.Next(10) switch
    {
        0 => RequestLimitsTests.FragmentDoubling(random.Next(5, 40)),
        1 => "{" + string.Concat(Enumerable.Repeat(" a {", random.Next(10, 3_000))) + " id" + new string('}', random.Next(0, 3_000)),
        2 => "{" + string.Concat(Enumerable.Range(0, random.Next(50, 800)).Select(i => $" f: feature(sae: \"S\", index: {i}) {{ index }}")) + " }",
        3 => "{" + string.Concat(Enumerable.Range(0, random.Next(50, 400)).Select(i => $" a{i}: {Fields[random.Next(Fields.Length)]} {{ __typename }}")) + " }",
        4 => "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }",
        5 => string.Concat(Enumerable.Range(0, random.Next(1, 200)).Select(_ => Junk[random.Next(Junk.Length)] + " ")),
        6 => "{ normalizationStats(sae: \"S\", indices: " + new string('[', random.Next(1, 500)) + "1" + new string(']', random.Next(1, 500)) + ") { index } }",
        7 => "query($v: " + new string('[', random.Next(1, 300)) + "Int" + new string(']', random.Next(1, 300)) + ") { saes { id } }",
        8 => "{ " + Fields[random.Next(Fields.Length)] + " { " + new string('x', random.Next(1, 60_000)) + " } }",
        _ => MutateSomeBytes(random, "query Q($s: String!) { analyzeSequence(sae: \"S\", sequence: $s) { length pooled { index feature { description { label } } } } }"),
    };

    private static string MutateSomeBytes(Random random, string document)
    {
        var chars = document.ToCharArray();
        for (var i = random.Next(1, 10); i > 0; i--) chars[random.Next(chars.Length)] = (char)random.Next(0, 0x3000);
        return new string(chars);
    }
}
