using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Cli;

/// <summary>Bad records, bad files and bad command lines: a clear one-line reason, the right exit code, no bad output.</summary>
public sealed class EncodeInputErrorTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private static void AssertOneLineError(CliResult result, int exitCode, params string[] mentions)
    {
        Assert.Equal(exitCode, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        foreach (var mention in mentions) Assert.Contains(mention, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_record_stops_with_its_name_after_writing_the_records_before_it()
    {
        var fasta = _harness.Write("bad.fa", ">good1\nMKTAYIAK\n>empty\n>good2\nACDEF\n");
        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta));

        AssertOneLineError(result, 1, "'empty'", "bad.fa", "no sequence");
        Assert.Equal(["good1"], result.Lines.Select(l => l.Id));
    }

    [Fact]
    public async Task Too_long_and_masked_records_name_the_record()
    {
        var fasta = _harness.Write("long.fa", ">short\nMKT\n>long\nMKTAYIAKQR\n");
        var tooLong = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta, "--max-tokens", "8"));
        AssertOneLineError(tooLong, 1, "record 2 ('long')", "maximum of 8 tokens", "raise --max-tokens");
        Assert.Equal(["short"], tooLong.Lines.Select(l => l.Id));

        // Strict (the default): '<' is not an amino-acid code. In the reference mode the <mask> literal is still refused.
        var mask = _harness.Write("mask.fa", ">m\nMK<mask>T\n");
        var masked = await CliHarness.RunAsync(CliHarness.EncodeArgs(mask));
        AssertOneLineError(masked, 1, "Record 1 ('m')", "'<' at position 3");
        Assert.Empty(masked.Stdout);
        var maskedReference = await CliHarness.RunAsync(CliHarness.EncodeArgs(mask, "--unknown-as-unk"));
        AssertOneLineError(maskedReference, 1, "'m'", "<mask>");
    }

    [Fact]
    public async Task Sequences_follow_the_one_input_rule_lower_case_white_space_and_a_trailing_stop_are_accepted()
    {
        var upper = await CliHarness.RunAsync(CliHarness.EncodeArgs(_harness.Write("upper.fa", ">p\nMKTAYIAKQRQ\n")));
        var lower = await CliHarness.RunAsync(CliHarness.EncodeArgs(_harness.Write("lower.fa", ">p\nmktayiak\nqrq*\n")));
        Assert.True(lower.ExitCode == 0, lower.Stderr);
        Assert.Equal(upper.Stdout, lower.Stdout);
        Assert.Equal(11, Assert.Single(lower.Lines).Length);
    }

    [Fact]
    public async Task A_character_outside_the_vocabulary_is_refused_by_name_and_position_unless_unknown_as_unk()
    {
        var fasta = _harness.Write("digit.fa", ">ok\nMKT\n>bad\nMKT1AY\n");
        var refused = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta));
        AssertOneLineError(refused, 1, "Record 2 ('bad')", "'1' at position 4", "--unknown-as-unk");
        Assert.Equal(["ok"], refused.Lines.Select(l => l.Id));

        // The reference behaviour: the text goes in as written and every unknown character is one <unk>, counted per line.
        var reference = await CliHarness.RunAsync(CliHarness.EncodeArgs(_harness.Write("ref.fa", ">bad\nmKT1AY\n"), "--unknown-as-unk"));
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        Assert.Equal(6, Assert.Single(reference.Lines).Length);
        using var line = System.Text.Json.JsonDocument.Parse(reference.Stdout.Split('\n')[0]);
        Assert.Equal(2, line.RootElement.GetProperty("unknownTokens").GetInt32());   // 'm' and '1'
    }

    [Fact]
    public async Task A_nucleotide_looking_record_is_encoded_with_a_warning()
    {
        var fasta = _harness.Write("dna.fa", ">dna\nACGTTGCAACGTAGCTAG\n");
        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta).Where(a => a != "--quiet").ToArray());
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Single(result.Lines);
        Assert.Contains(result.StderrLines, l => l.Contains("warning", StringComparison.Ordinal) && l.Contains("nucleotide", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Skip_invalid_skips_and_counts_bad_records_and_keeps_input_order()
    {
        var fasta = _harness.Write("mixed.fa", ">a\nMKT\n>empty\n\n>long\nMKTAYIAKQR\n>b\nACD\n>a\nGGG\n>c\nWWY\n");
        var args = CliHarness.EncodeArgs(fasta, "--max-tokens", "8", "--skip-invalid").Where(a => a != "--quiet").ToArray();

        var result = await CliHarness.RunAsync(args);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(["a", "b", "c"], result.Lines.Select(l => l.Id));
        Assert.Equal([3, 3, 3], result.Lines.Select(l => l.Length));
        var stderr = result.StderrLines;
        Assert.Contains(stderr, l => l.Contains("skipped", StringComparison.Ordinal) && l.Contains("'empty'", StringComparison.Ordinal));
        Assert.Contains(stderr, l => l.Contains("skipped", StringComparison.Ordinal) && l.Contains("'long'", StringComparison.Ordinal));
        Assert.Contains(stderr, l => l.Contains("skipped", StringComparison.Ordinal) && l.Contains("duplicate id", StringComparison.Ordinal));
        Assert.Contains("skipped 3 invalid records", stderr[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplicate_ids_are_an_error_without_skip_invalid()
    {
        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(_harness.Write("dup.fa", ">a\nMKT\n>a\nGGG\n")));
        AssertOneLineError(result, 1, "'a'", "duplicate id");
        Assert.Equal(["a"], result.Lines.Select(l => l.Id));
    }

    [Fact]
    public async Task Unreadable_input_files_are_named()
    {
        var missing = Path.Combine(_harness.Root, "missing.fa");
        AssertOneLineError(await CliHarness.RunAsync(CliHarness.EncodeArgs(missing)), 1, missing);

        var garbage = new byte[2048];
        new Random(11).NextBytes(garbage);
        garbage[0] = 0x00;
        var binary = Path.Combine(_harness.Root, "binary.fa");
        await File.WriteAllBytesAsync(binary, garbage);
        AssertOneLineError(await CliHarness.RunAsync(CliHarness.EncodeArgs(binary)), 1, binary);

        var truncated = _harness.WriteGzip("cut.fa.gz", CliHarness.Fasta(Enumerable.Range(0, 20).Select(i => ($"s{i}", "MKTAYIAKQRQISFVKSHFSRQ"))));
        var bytes = await File.ReadAllBytesAsync(truncated);
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length - 5)]);
        AssertOneLineError(await CliHarness.RunAsync(CliHarness.EncodeArgs(truncated)), 1, truncated, "gzip");
    }

    [Fact]
    public async Task Missing_or_broken_model_and_sae_folders_are_named()
    {
        var fasta = _harness.Write("q.fa", ">a\nMKT\n");
        var noModel = Path.Combine(_harness.Root, "no-model");
        AssertOneLineError(await CliHarness.RunAsync("encode", "--model", noModel, "--sae", CliHarness.TinyStatesSae, "--layer", "2", "--fasta", fasta), 1, noModel);

        var noLayer = await CliHarness.RunAsync("encode", "--model", CliHarness.TinyModel, "--sae", CliHarness.TinyStatesSae, "--layer", "7", "--fasta", fasta);
        AssertOneLineError(noLayer, 1, "layer_7");

        // An SAE repo whose files belong to nothing: the config is not JSON.
        var brokenSae = Directory.CreateDirectory(Path.Combine(_harness.Root, "broken-sae")).FullName;
        await File.WriteAllTextAsync(Path.Combine(brokenSae, "config.json"), "{ not json");
        File.Copy(Path.Combine(CliHarness.TinyStatesSae, "layer_2.safetensors"), Path.Combine(brokenSae, "layer_2.safetensors"));
        AssertOneLineError(await CliHarness.RunAsync("encode", "--model", CliHarness.TinyModel, "--sae", brokenSae, "--layer", "2", "--fasta", fasta), 1, "config.json");
    }

    [Theory]
    [InlineData("--layer", "two", "--layer")]
    [InlineData("--device", "tpu", "--device")]
    [InlineData("--max-tokens", "0", "--max-tokens")]
    [InlineData("--colour", "red", "unknown option '--colour'")]
    public async Task Bad_options_are_usage_errors(string option, string value, string mention)
    {
        var fasta = _harness.Write("q.fa", ">a\nMKT\n");
        var args = new List<string> { "encode", "--model", CliHarness.TinyModel, "--sae", CliHarness.TinyStatesSae, "--fasta", fasta };
        if (option != "--layer") args.AddRange(["--layer", "2"]);
        args.AddRange([option, value]);
        AssertOneLineError(await CliHarness.RunAsync([.. args]), 2, mention, "esmc encode --help");
    }

    [Fact]
    public async Task Missing_required_option_and_unknown_command_are_usage_errors()
    {
        AssertOneLineError(await CliHarness.RunAsync("encode", "--model", CliHarness.TinyModel), 2, "--sae");
        AssertOneLineError(await CliHarness.RunAsync("decode"), 2, "unknown command 'decode'");
    }

    [Fact]
    public async Task Placeholder_statistics_refuse_to_normalize_without_imported_ones()
    {
        var fasta = _harness.Write("q.fa", ">a\nMKT\n");
        var result = await CliHarness.RunAsync(
            "encode", "--model", CliHarness.TinyModel, "--sae", CliHarness.TinyStatesSae, "--layer", "1", "--fasta", fasta, "--normalize");
        AssertOneLineError(result, 1, "placeholder", "--stats");
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Failed_run_with_out_leaves_no_output_file_but_keeps_the_partial_one()
    {
        var fasta = _harness.Write("bad.fa", ">good\nMKT\n>empty\n");
        var output = Path.Combine(_harness.Root, "features.jsonl");
        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta, "--out", output));

        AssertOneLineError(result, 1, "'empty'", output + ".partial");
        Assert.False(File.Exists(output));
        Assert.Equal(["good"], (await File.ReadAllLinesAsync(output + ".partial")).Select(l => EncodedLine.Parse(l).Id));
    }
}
