using System.Globalization;
using System.Text.Json;
using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Cli;

/// <summary>
/// <c>encode</c> through the real CLI on the golden tiny model must reproduce golden.json's per-residue top-k and
/// pooled features (raw and normalized) within the tolerance of docs/model-math.md, section 8, with identical feature sets.
/// </summary>
public sealed class EncodeGoldenTests : IDisposable
{
    private readonly CliHarness _harness = new();
    private static readonly JsonDocument Golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(CliHarness.EsmcTiny, "golden.json")));
    private const string SaeName = "states_layer2";

    public void Dispose() => _harness.Dispose();

    /// <summary>Golden sequences that a FASTA file can carry (FASTA drops white space inside sequence lines).</summary>
    private static List<(string Name, string Sequence, JsonElement Sae)> GoldenSequences(string saeName) =>
        Golden.RootElement.GetProperty("sequences").EnumerateArray()
            .Where(s => !s.GetProperty("sequence").GetString()!.Any(char.IsWhiteSpace))
            .Select(s => (s.GetProperty("name").GetString()!, s.GetProperty("sequence").GetString()!, s.GetProperty("sae").GetProperty(saeName)))
            .ToList();

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Encode_reproduces_golden_features(bool normalize, bool gzip)
    {
        var sequences = GoldenSequences(SaeName);
        Assert.True(sequences.Count >= 4);
        var fasta = CliHarness.Fasta(sequences.Select(s => (s.Name, s.Sequence)));
        var path = gzip ? _harness.WriteGzip("golden.fa.gz", fasta) : _harness.Write("golden.fa", fasta);

        var result = await CliHarness.RunAsync(CliHarness.EncodeArgs(path, normalize ? ["--normalize"] : []));

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Lines;
        Assert.Equal(sequences.Select(s => s.Name), lines.Select(l => l.Id));
        var saeLayer = Golden.RootElement.GetProperty("saes").EnumerateArray().Single(s => s.GetProperty("name").GetString() == SaeName);
        var expectedSaeId = $"{saeLayer.GetProperty("repo_dir").GetString()}/layer{saeLayer.GetProperty("layer").GetInt32()}";
        foreach (var ((_, sequence, golden), line) in sequences.Zip(lines))
        {
            Assert.Equal(expectedSaeId, line.Sae);
            Assert.Equal(normalize, line.Normalized);
            var positions = golden.GetProperty("positions").EnumerateArray().ToList();
            // Golden positions include <cls> (first) and <eos> (last); residues exclude both.
            var residueRows = positions.Skip(1).Take(positions.Count - 2).ToList();
            Assert.Equal(residueRows.Count, line.Length);
            Assert.Equal(line.Length, line.Residues.Count);
            for (var r = 0; r < residueRows.Count; r++)
            {
                var expected = GoldenList(residueRows[r].GetProperty(normalize ? "topk_normalized" : "topk"));
                AssertFeatureList(expected, line.Residues[r], $"{line.Id} residue {r + 1}");
            }
            var pooled = GoldenList(golden.GetProperty(normalize ? "max_pooled_normalized" : "max_pooled_raw"));
            AssertFeatureList(pooled, line.Pooled, $"{line.Id} pooled");
        }
    }

    [Fact]
    public async Task Every_model_layout_gives_the_same_output()
    {
        var sequences = GoldenSequences(SaeName);
        var path = _harness.Write("golden.fa", CliHarness.Fasta(sequences.Select(s => (s.Name, s.Sequence))));
        string? first = null;
        foreach (var dir in Golden.RootElement.GetProperty("model").GetProperty("dirs").EnumerateObject().Select(p => p.Value.GetString()!))
        {
            var result = await CliHarness.RunAsync(
                "encode", "--model", Path.Combine(CliHarness.EsmcTiny, dir), "--sae", CliHarness.TinyStatesSae, "--layer", "2", "--fasta", path, "--quiet");
            Assert.True(result.ExitCode == 0, $"{dir}: {result.Stderr}");
            first ??= result.Stdout;
            var expected = first.Split('\n').Select(EncodedLineOrNull).ToList();
            var actual = result.Stdout.Split('\n').Select(EncodedLineOrNull).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                if (expected[i] is null) { Assert.Null(actual[i]); continue; }
                Assert.Equal(expected[i]!.Residues.Count, actual[i]!.Residues.Count);
                for (var r = 0; r < expected[i]!.Residues.Count; r++)
                    AssertFeatureList(expected[i]!.Residues[r].ToDictionary(f => f.Index, f => (double)f.Value), actual[i]!.Residues[r], $"{dir} {expected[i]!.Id} residue {r + 1}");
            }
        }
    }

    private static EncodedLine? EncodedLineOrNull(string line) => line.Length == 0 ? null : EncodedLine.Parse(line);

    private static Dictionary<int, double> GoldenList(JsonElement list) =>
        list.EnumerateArray()
            .Select(pair => (Index: pair[0].GetInt32(), Value: pair[1].GetDouble()))
            .Where(f => f.Value > 0) // feature lists hold only values > 0
            .ToDictionary(f => f.Index, f => f.Value);

    /// <summary>Spec 7 tolerance |ours - golden| &lt;= 1e-4 * max(1, |golden|), identical index sets, contract ordering, shortest floats.</summary>
    private static void AssertFeatureList(Dictionary<int, double> expected, List<(int Index, float Value, string Text)> actual, string where)
    {
        Assert.True(expected.Keys.Order().SequenceEqual(actual.Select(f => f.Index).Order()),
            $"{where}: features {string.Join(",", actual.Select(f => f.Index).Order())} != golden {string.Join(",", expected.Keys.Order())}");
        foreach (var (index, value, text) in actual)
        {
            var golden = expected[index];
            Assert.True(Math.Abs(value - golden) <= 1e-4 * Math.Max(1, Math.Abs(golden)), $"{where}: feature {index} = {value}, golden {golden}");
            Assert.Equal(value.ToString("R", CultureInfo.InvariantCulture), text);
        }
        for (var i = 1; i < actual.Count; i++)
        {
            var ordered = actual[i - 1].Value > actual[i].Value || (actual[i - 1].Value == actual[i].Value && actual[i - 1].Index < actual[i].Index);
            Assert.True(ordered, $"{where}: entries {i - 1} and {i} are out of contract order");
        }
    }
}
