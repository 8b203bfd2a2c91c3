using System.Globalization;
using System.Security.Cryptography;
using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Cli;

public sealed class EncodeEndToEndTests : IDisposable
{
    private readonly CliHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private static string RandomProtein(Random random, int length)
    {
        const string residues = "ACDEFGHIKLMNPQRSTVWY";
        return new string(Enumerable.Range(0, length).Select(_ => residues[random.Next(residues.Length)]).ToArray());
    }

    [Fact]
    public async Task Separate_process_writes_the_same_lines_as_the_in_process_entry_point()
    {
        var random = new Random(5);
        var records = Enumerable.Range(1, 12).Select(i => ($"p{i}", RandomProtein(random, 5 + random.Next(60)))).ToList();
        var fasta = _harness.WriteGzip("proteins.fa.gz", CliHarness.Fasta(records));
        var output = Path.Combine(_harness.Root, "features.jsonl");

        var process = await CliHarness.RunProcessAsync(CliHarness.EncodeArgs(fasta, "--out", output));
        var inProcess = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta));

        Assert.True(process.ExitCode == 0, process.Stderr);
        Assert.Empty(process.Stdout);
        Assert.False(File.Exists(output + ".partial"));
        Assert.Equal(inProcess.Stdout, await File.ReadAllTextAsync(output));
        Assert.Equal(records.Select(r => r.Item1), inProcess.Lines.Select(l => l.Id));
        Assert.Equal(records.Select(r => r.Item2.Length), inProcess.Lines.Select(l => l.Length));
    }

    [Fact]
    public async Task Separate_process_fails_with_exit_code_and_one_line()
    {
        var missing = Path.Combine(_harness.Root, "nothing-here.fa");
        var result = await CliHarness.RunProcessAsync(CliHarness.EncodeArgs(missing));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(missing, Assert.Single(result.StderrLines), StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Many_records_stream_through_chunks_in_input_order_with_batch_invariant_values()
    {
        var random = new Random(17);
        // More records than one chunk holds, of mixed lengths, so the worker sorts and batches them.
        var records = Enumerable.Range(1, 300).Select(i => ($"r{i:D3}", RandomProtein(random, 1 + random.Next(40)))).ToList();
        var fasta = _harness.Write("many.fa", CliHarness.Fasta(records, width: 60));

        var all = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta));

        Assert.True(all.ExitCode == 0, all.Stderr);
        var lines = all.Lines;
        Assert.Equal(records.Select(r => r.Item1), lines.Select(l => l.Id));
        Assert.Equal(records.Select(r => r.Item2.Length), lines.Select(l => l.Length));
        foreach (var index in new[] { 0, 137, 299 })
        {
            var single = await CliHarness.RunAsync(CliHarness.EncodeArgs(_harness.Write($"one{index}.fa", CliHarness.Fasta([records[index]]))));
            var alone = Assert.Single(single.Lines);
            for (var r = 0; r < alone.Length; r++)
            {
                Assert.Equal(alone.Residues[r].Select(f => f.Index).Order(), lines[index].Residues[r].Select(f => f.Index).Order());
                foreach (var (feature, value, _) in alone.Residues[r])
                    Assert.Equal(value, lines[index].Residues[r].Single(f => f.Index == feature).Value, 1e-4f * Math.Max(1f, value));
            }
        }
    }

    [Fact]
    public async Task Demo_model_is_deterministic_and_encodes()
    {
        var rootA = Path.Combine(_harness.Root, "models-a");
        var rootB = Path.Combine(_harness.Root, "models-b");
        var created = await CliHarness.RunAsync("create-demo-model", "--out", rootA);
        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.Equal(0, (await CliHarness.RunAsync("create-demo-model", "--out", rootB)).ExitCode);
        Assert.Equal(HashTree(rootA), HashTree(rootB));

        // Follow the command line create-demo-model suggests.
        var suggestion = created.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("esmc encode ", StringComparison.Ordinal));
        var args = suggestion.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
        var random = new Random(23);
        var records = Enumerable.Range(1, 5).Select(i => ($"d{i}", RandomProtein(random, 10 + i * 7))).ToList();
        args[Array.IndexOf(args, "FILE")] = _harness.Write("demo.fa", CliHarness.Fasta(records));

        var encoded = await CliHarness.RunAsync([.. args, "--quiet"]);

        Assert.True(encoded.ExitCode == 0, encoded.Stderr);
        Assert.Equal(records.Select(r => r.Item2.Length), encoded.Lines.Select(l => l.Length));
        var saeLine = created.Stdout.Split('\n').First(l => l.TrimStart().StartsWith("sae:", StringComparison.Ordinal));
        Assert.All(encoded.Lines, l => Assert.Equal(saeLine.Split(':', 2)[1].Trim(), l.Sae));
        Assert.All(encoded.Lines, l => Assert.NotEmpty(l.Pooled));
    }

    private static Dictionary<string, string> HashTree(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public async Task Imported_csv_statistics_normalize_as_raw_over_max_times_idf()
    {
        var fasta = _harness.Write("q.fa", ">a\nMKTAYIAKQRQ\n>b\nACDEFGHIKLMNPQRSTVWY\n");
        string[] layer1 = ["encode", "--model", CliHarness.TinyModel, "--sae", CliHarness.TinyStatesSae, "--layer", "1", "--fasta", fasta, "--quiet"];
        var raw = await CliHarness.RunAsync(layer1);
        Assert.True(raw.ExitCode == 0, raw.Stderr);

        // Statistics for every even feature (odd ones never active: normalized to 0 and dropped).
        var codebook = 1 + raw.Lines.SelectMany(l => l.Pooled).Max(f => f.Index);
        var max = Enumerable.Range(0, codebook).Select(j => 0.5f + j * 0.25f).ToArray();
        var idf = Enumerable.Range(0, codebook).Select(j => 0.1f * (j % 7 + 1)).ToArray();
        var csv = "feature,max,idf\n" + string.Join("\n", Enumerable.Range(0, codebook).Where(j => j % 2 == 0)
            .Select(j => string.Create(CultureInfo.InvariantCulture, $"{j},{max[j]:R},{idf[j]:R}"))) + "\n";
        var normalized = await CliHarness.RunAsync([.. layer1, "--normalize", "--stats", _harness.Write("stats.csv", csv)]);

        Assert.True(normalized.ExitCode == 0, normalized.Stderr);
        foreach (var (rawLine, normLine) in raw.Lines.Zip(normalized.Lines))
        {
            Assert.True(normLine.Normalized);
            for (var r = 0; r < rawLine.Length; r++)
            {
                var expected = rawLine.Residues[r].Where(f => f.Index % 2 == 0).ToDictionary(f => f.Index, f => f.Value / max[f.Index] * idf[f.Index]);
                Assert.Equal(expected.Keys.Order(), normLine.Residues[r].Select(f => f.Index).Order());
                foreach (var (feature, value, _) in normLine.Residues[r])
                    Assert.Equal(expected[feature], value, 1e-6f);
            }
            var pooled = rawLine.Pooled.Where(f => f.Index % 2 == 0).ToDictionary(f => f.Index, f => f.Value / max[f.Index] * idf[f.Index]);
            Assert.Equal(pooled.Keys.Order(), normLine.Pooled.Select(f => f.Index).Order());
        }
    }

    [Fact]
    public async Task Normalize_follows_the_servers_precedence_rule_and_each_line_says_which_source_it_used()
    {
        // Layer 2 of the tiny SAE has real checkpoint statistics: without --stats they are in effect.
        var fasta = _harness.Write("q.fa", ">a\nMKTAYIAKQRQ\n");
        var checkpoint = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta, "--normalize"));
        Assert.True(checkpoint.ExitCode == 0, checkpoint.Stderr);
        Assert.Contains("\"normalizationSource\":\"CHECKPOINT\"", checkpoint.Stdout, StringComparison.Ordinal);

        // An explicit --stats is an admin's choice of IMPORTED statistics, as on the server: used, and said so.
        var raw = Assert.Single((await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta))).Lines);
        var max = Enumerable.Range(0, 64).Select(j => 0.5f + j * 0.25f).ToArray();
        var idf = Enumerable.Range(0, 64).Select(j => 0.1f * (j % 7 + 1)).ToArray();
        var json = "{\"max\":[" + string.Join(",", max.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "],\"idf\":["
            + string.Join(",", idf.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]}";
        var imported = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta, "--normalize", "--stats", _harness.Write("stats.json", json)));
        Assert.True(imported.ExitCode == 0, imported.Stderr);
        Assert.Contains("\"normalizationSource\":\"IMPORTED\"", imported.Stdout, StringComparison.Ordinal);
        var line = Assert.Single(imported.Lines);
        foreach (var (feature, value, _) in line.Pooled)
            Assert.Equal(raw.Pooled.Single(f => f.Index == feature).Value / max[feature] * idf[feature], value, 1e-6f);
    }

    [Fact]
    public async Task Imported_json_statistics_are_accepted_and_checked_against_the_codebook()
    {
        var fasta = _harness.Write("q.fa", ">a\nMKTAYIAKQRQ\n");
        string[] layer1 = ["encode", "--model", CliHarness.TinyModel, "--sae", CliHarness.TinyStatesSae, "--layer", "1", "--fasta", fasta, "--quiet", "--normalize"];
        var codebook = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(CliHarness.TinyStatesSae, "config.json")))
            .RootElement.GetProperty("codebook_dim").GetInt32();

        var ones = string.Join(",", Enumerable.Repeat("2", codebook));
        var good = await CliHarness.RunAsync([.. layer1, "--stats", _harness.Write("stats.json", $"{{\"max\":[{ones}],\"idf\":[{ones}]}}")]);
        Assert.True(good.ExitCode == 0, good.Stderr);
        var raw = await CliHarness.RunAsync(layer1[..^1]);
        // max = idf = 2 for every feature: normalized == raw.
        Assert.Equal(raw.Lines[0].Pooled.Select(f => (f.Index, f.Value)), good.Lines[0].Pooled.Select(f => (f.Index, f.Value)));

        var shortStats = _harness.Write("short.json", "{\"max\":[1,2],\"idf\":[1,2]}");
        var bad = await CliHarness.RunAsync([.. layer1, "--stats", shortStats]);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains($"codebook has {codebook} features", Assert.Single(bad.StderrLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("feature,max\n0,1\n", ":1:", "header")]
    [InlineData("feature,max,idf\n0,1,1\n0,2,2\n", ":3:", "listed twice")]
    [InlineData("feature,max,idf\n9999,1,1\n", ":2:", "9999")]
    [InlineData("feature,max,idf\n1,-3,1\n", ":2:", "-3")]
    public async Task Malformed_statistics_files_name_the_line(string csv, string line, string mention)
    {
        var fasta = _harness.Write("q.fa", ">a\nMKT\n");
        var stats = _harness.Write("bad.csv", csv);
        var result = await CliHarness.RunAsync(
            "encode", "--model", CliHarness.TinyModel, "--sae", CliHarness.TinyStatesSae, "--layer", "1", "--fasta", fasta, "--normalize", "--stats", stats);
        Assert.Equal(1, result.ExitCode);
        var error = Assert.Single(result.StderrLines);
        Assert.Contains(stats + line, error, StringComparison.Ordinal);
        Assert.Contains(mention, error, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Ids_with_json_special_characters_round_trip()
    {
        string[] ids = ["sp|P69905|HBA_HUMAN", "quote\"and\\backslash", "caf\u00e9"];
        var fasta = _harness.Write("ids.fa", string.Concat(ids.Select(id => $">{id} description\nMKT\n")));
        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta));
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(ids, result.Lines.Select(l => l.Id));
    }

    [Fact]
    public async Task UniProt_flat_files_are_encoded_by_accession()
    {
        var sample = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "uniprot", "swissprot_sample.dat"));
        var firstThree = string.Concat(sample.Split("//\n").Take(3).Select(entry => entry + "//\n"));
        var accessions = firstThree.Split('\n').Where(l => l.StartsWith("AC   ", StringComparison.Ordinal))
            .Select(l => l[5..].Split(';')[0].Trim()).Distinct().Take(3).ToList();
        var path = _harness.Write("three.dat", firstThree);

        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(path, "--max-tokens", "4096"));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(accessions, result.Lines.Select(l => l.Id));
    }

    [Fact]
    public async Task Interrupted_run_exits_130()
    {
        var fasta = _harness.Write("q.fa", ">a\nMKT\n");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(fasta), cancelled.Token);
        Assert.Equal(130, result.ExitCode);
        Assert.Contains("interrupted", Assert.Single(result.StderrLines), StringComparison.Ordinal);
    }
}
