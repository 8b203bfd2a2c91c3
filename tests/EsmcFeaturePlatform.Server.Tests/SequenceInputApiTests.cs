using System.Text.Json.Nodes;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// The one input rule for sequences (ProteinSequenceInput) at the API and in indexing, end to end over HTTP: what
/// scientists paste is accepted the same way everywhere, anything else is refused by name, and a corpus's bad records
/// are skipped and reported instead of failing the job.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SequenceInputApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private const string Analyze = "query($s: String!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s) { length sequence unknownTokens warnings residues { index value } pooled { index value position } } }";
    private const string AnalyzeReference = "query($s: String!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s, strict: false) { length sequence unknownTokens warnings residues { index value } pooled { index value position } } }";

    [Fact]
    public async Task Lower_case_white_space_and_a_trailing_stop_give_the_features_of_the_upper_case_sequence()
    {
        var upper = (await platform.DataAsync(Analyze, new { s = "MKTAYIAKQRQ" }))["analyzeSequence"]!;
        var pasted = (await platform.DataAsync(Analyze, new { s = "mktayiak qrq\r\n*" }))["analyzeSequence"]!;

        Assert.Equal("MKTAYIAKQRQ", pasted["sequence"]!.GetValue<string>());
        Assert.Equal(0, pasted["unknownTokens"]!.GetValue<int>());
        Assert.Empty(pasted["warnings"]!.AsArray());
        Assert.Equal(upper["residues"]!.ToJsonString(), pasted["residues"]!.ToJsonString());
        Assert.Equal(upper["pooled"]!.ToJsonString(), pasted["pooled"]!.ToJsonString());
        Assert.NotEmpty(upper["pooled"]!.AsArray());
    }

    [Theory]
    [InlineData("MKT1", "Argument 'sequence' has the character '1' at position 4")]
    [InlineData("MKTJAY", "'J' at position 4")]
    [InlineData("MK*TA", "'*' at position 3")]
    [InlineData(">sp|P69905|HBA_HUMAN\nMVLSPADKTN", "this looks like FASTA")]
    public async Task Characters_outside_the_vocabulary_are_refused_naming_the_first_one_and_its_position(string sequence, string named)
    {
        var (_, body) = await platform.PostAsync(Analyze, new { s = sequence });
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains(named, PlatformFactory.ErrorMessage(body));
    }

    [Fact]
    public async Task Strict_false_is_the_reference_tokenizer_and_counts_the_unk_tokens_it_used()
    {
        const string text = "mkt1AY";
        var reference = (await platform.DataAsync(AnalyzeReference, new { s = text }))["analyzeSequence"]!;
        Assert.Equal(text, reference["sequence"]!.GetValue<string>());
        Assert.Equal(4, reference["unknownTokens"]!.GetValue<int>());   // m, k, t (lower case is not in the vocabulary) and 1
        Assert.Contains(reference["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains("<unk>", StringComparison.Ordinal));

        using var encoder = TestEnvironment.OpenEncoder();
        var direct = (await encoder.EncodeAsync(Sae, [text]))[0];
        Assert.Equal(4, direct.UnknownTokens);
        var residues = reference["residues"]!.AsArray();
        Assert.Equal(direct.Length, residues.Count);
        for (var r = 0; r < direct.Length; r++)
            Assert.Equal(direct.Residues[r].Select(f => f.Index), residues[r]!.AsArray().Select(f => f!["index"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_nucleotide_looking_sequence_is_analyzed_with_a_warning()
    {
        var dna = (await platform.DataAsync(Analyze, new { s = "acgtacgttgcaTGCA" }))["analyzeSequence"]!;
        Assert.Equal(16, dna["length"]!.GetValue<int>());
        var warning = Assert.Single(dna["warnings"]!.AsArray())!.GetValue<string>();
        Assert.Contains("looks like a nucleotide sequence", warning);
    }

    [Fact]
    public async Task A_too_long_sequence_names_the_setting_that_raises_the_limit()
    {
        var (_, body) = await platform.PostAsync(Analyze, new { s = new string('W', 3000) });
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(body));
        Assert.Contains("Esmc:Inference:MaxTokens", PlatformFactory.ErrorMessage(body));
    }

    [Fact]
    public async Task IndexCorpus_skips_and_reports_bad_records_and_pages_through_the_full_list()
    {
        var random = new Random(3);
        var longProtein = new string([.. Enumerable.Range(0, 2100).Select(_ => "ACDEFGHIKLMNPQRSTVWY"[random.Next(20)])]);
        var path = Path.Combine(TestEnvironment.CorpusRoot, $"esmc-bad-records-{Guid.NewGuid():N}.fasta");
        await File.WriteAllTextAsync(path, $">good1\nMKTAYIAK\n>digit\nMKT1AY\n>empty\n>lower pasted in lower case\nmktayiak\nqrq*\n>long\n{longProtein}\n>good2\nACDEFGHIK\n");

        // FAIL: the job stops at the first bad record, naming it; nothing is indexed.
        var failing = await StartAsync(path, "FAIL");
        var failed = await ApiTestHelpers.WaitForJobAsync(platform, failing);
        Assert.Equal("FAILED", failed["status"]!.GetValue<string>());
        Assert.Contains("Record 2 ('digit')", failed["error"]!.GetValue<string>());
        Assert.Contains("'1' at position 4", failed["error"]!.GetValue<string>());

        // SKIP (the default): the job completes; every bad record is counted, the first ones are in the job.
        var id = await StartAsync(path, null);
        await ApiTestHelpers.WaitForJobAsync(platform, id);
        var job = (await platform.DataAsync(
            "query($id: ID!) { job(id: $id) { status processed total skipped error firstSkipped { recordNumber sequenceId reason message } } }", new { id }))["job"]!;
        Assert.Equal("COMPLETED", job["status"]!.GetValue<string>());
        Assert.Null(job["error"]);
        Assert.Equal(6, job["total"]!.GetValue<int>());
        Assert.Equal(6, job["processed"]!.GetValue<int>());
        Assert.Equal(3, job["skipped"]!.GetValue<int>());
        var first = job["firstSkipped"]!.AsArray();
        Assert.Equal([2, 3, 5], first.Select(s => s!["recordNumber"]!.GetValue<int>()));
        Assert.Equal(["INVALID_SEQUENCE", "INVALID_RECORD", "TOO_LONG"], first.Select(s => s!["reason"]!.GetValue<string>()));
        Assert.Contains("'1' at position 4", first[0]!["message"]!.GetValue<string>());
        Assert.Contains("no sequence", first[1]!["message"]!.GetValue<string>());
        Assert.Contains("Esmc:Inference:MaxTokens", first[2]!["message"]!.GetValue<string>());
        Assert.Contains("onOverLong: WINDOW", first[2]!["message"]!.GetValue<string>());

        var page = (await platform.DataAsync("query($id: ID!) { job(id: $id) { skippedRecords(offset: 1, first: 1) { totalCount records { recordNumber sequenceId reason } } } }", new { id }))
            ["job"]!["skippedRecords"]!;
        Assert.Equal(3, page["totalCount"]!.GetValue<int>());
        Assert.Equal(3, Assert.Single(page["records"]!.AsArray())!["recordNumber"]!.GetValue<int>());

        // The lower-case record went through the same rule as analyzeSequence: stored and analyzed upper-cased.
        var sae = (await platform.DataAsync("{ saes { id corpusSize } }"))["saes"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == Sae)!;
        Assert.Equal(3, sae["corpusSize"]!.GetValue<int>());
        var pooled = (await platform.DataAsync(Analyze, new { s = "MKTAYIAKQRQ" }))["analyzeSequence"]!["pooled"]!.AsArray();
        var feature = pooled[0]!["index"]!.GetValue<int>();
        var examples = (await platform.DataAsync($"{{ feature(sae: \"{Sae}\", index: {feature}) {{ topExamples(first: 10) {{ sequenceId sequence }} }} }}"))
            ["feature"]!["topExamples"]!.AsArray();
        Assert.Equal("MKTAYIAKQRQ", examples.Single(e => e!["sequenceId"]!.GetValue<string>() == "lower")!["sequence"]!.GetValue<string>());
    }

    private async Task<string> StartAsync(string path, string? onInvalidRecord)
    {
        var policy = onInvalidRecord is null ? "" : $", onInvalidRecord: {onInvalidRecord}";
        var job = (await platform.DataAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p, topExamples: 5" + policy + ") { id } }",
            new { p = path }, PlatformFactory.AdminKey))["indexCorpus"]!;
        return job["id"]!.GetValue<string>();
    }
}
