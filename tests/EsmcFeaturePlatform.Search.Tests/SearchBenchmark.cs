using System.Diagnostics;
using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Search.Lucene;
using Xunit;
using Xunit.Abstractions;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>
/// Lucene search benchmark: rebuild time and query latency (p50/p99) for 16,384 and 131,072 synthetic features,
/// single-threaded and under concurrent clients. Measures this machine, so it asserts only correctness; run with
/// <c>ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Search.Tests -c Release --filter Category=Benchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class SearchBenchmark(ITestOutputHelper output)
{
    private static readonly string[] Queries =
    [
        "zinc", "transmembrane helix", "\"binding site\"", "kinase*", "atp binding loop", "signal OR transit",
        "coiled coil", "phospho*", "\"alpha helix\" amphipathic", "glycine rich", "cysteine", "nuclear localisation",
    ];

    [BenchmarkFact]
    [Trait("Category", "Benchmark")]
    public Task Lucene_with_16384_features() => RunAsync(16_384);

    [BenchmarkFact]
    [Trait("Category", "Benchmark")]
    public Task Lucene_with_131072_features() => RunAsync(131_072);

    private async Task RunAsync(int featureCount)
    {
        using var folder = new TempDirectory();
        await using var index = new LuceneFeatureIndex(new LuceneSearchOptions { IndexDirectory = folder.Path });
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Lucene, {featureCount:N0} features, {Environment.ProcessorCount} cores");

        var rebuild = Stopwatch.StartNew();
        await index.RebuildAsync(SyntheticFeatures.Generate(featureCount, seed: 42));
        rebuild.Stop();
        Assert.Equal(featureCount, await index.CountAsync());
        report.AppendLine(CultureInfo.InvariantCulture, $"  rebuild: {rebuild.Elapsed.TotalSeconds:F1} s ({featureCount / rebuild.Elapsed.TotalSeconds:N0} features/s)");

        // Warm-up: JIT, caches, doc values.
        foreach (var q in Queries) Assert.True((await index.SearchAsync(new FeatureSearchQuery(q))).TotalCount > 0, q);

        var single = new List<double>();
        for (var i = 0; i < 600; i++) single.Add(await TimeQueryAsync(index, i));
        report.AppendLine(Line("1 client", single, single.Count / (single.Sum() / 1000)));

        foreach (var clients in new[] { 10, 100 })
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(workers, clients + 4), io);
            var latencies = new List<double>[clients];
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                var mine = latencies[c] = [];
                for (var i = 0; i < 3000 / clients; i++) mine.Add(await TimeQueryAsync(index, c * 31 + i));
            })));
            wall.Stop();
            var all = latencies.SelectMany(l => l).ToList();
            report.AppendLine(Line($"{clients} clients", all, all.Count / wall.Elapsed.TotalSeconds));
        }
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("ESMC_BENCHMARK_OUT") is { Length: > 0 } file) await File.AppendAllTextAsync(file, report.ToString());
    }

    private static async Task<double> TimeQueryAsync(LuceneFeatureIndex index, int i)
    {
        var query = new FeatureSearchQuery(Queries[i % Queries.Length], Statuses: i % 4 == 0 ? [DescriptionStatus.Approved] : null);
        var watch = Stopwatch.StartNew();
        var result = await index.SearchAsync(query);
        watch.Stop();
        Assert.NotNull(result.Hits);
        return watch.Elapsed.TotalMilliseconds;
    }

    private static string Line(string label, List<double> latenciesMs, double queriesPerSecond)
    {
        latenciesMs.Sort();
        double P(double p) => latenciesMs[Math.Min(latenciesMs.Count - 1, (int)Math.Ceiling(p * latenciesMs.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture,
            $"  {label,-11}: p50 {P(0.50):F2} ms, p99 {P(0.99):F2} ms, {queriesPerSecond:N0} queries/s ({latenciesMs.Count} queries, first 20 with highlights)");
    }
}

/// <summary>
/// Deterministic features with description lengths like real ones (labels of 2-5 words, texts of 25-90 words,
/// 0-5 annotation terms) drawn Zipf-like from a protein vocabulary, so term frequencies resemble real text.
/// </summary>
public static class SyntheticFeatures
{
    private static readonly string[] Domain =
    [
        "zinc", "finger", "transmembrane", "helix", "binding", "site", "kinase", "atp", "loop", "signal", "peptide", "transit",
        "coiled", "coil", "phosphorylation", "phosphate", "alpha", "beta", "strand", "sheet", "amphipathic", "glycine", "rich",
        "cysteine", "disulfide", "nuclear", "localisation", "motif", "domain", "repeat", "hydrophobic", "charged", "residue",
        "residues", "terminal", "n-terminal", "c-terminal", "catalytic", "active", "metal", "ion", "heme", "iron", "copper",
        "membrane", "cytoplasmic", "extracellular", "lumenal", "secretion", "cleavage", "proline", "turn", "hairpin", "pocket",
        "nucleotide", "dna", "rna", "recognition", "acidic", "basic", "lysine", "arginine", "serine", "threonine", "tyrosine",
        "glycosylation", "lipid", "anchor", "ubiquitin", "interface", "dimerization", "oligomer", "chaperone", "protease",
    ];

    private static readonly string[] Filler =
    [
        "the", "a", "of", "in", "and", "at", "near", "with", "within", "feature", "fires", "activates", "strongly", "weakly",
        "on", "positions", "proteins", "sequences", "across", "family", "families", "conserved", "region", "regions", "often",
        "preceding", "following", "structure", "structural", "predicted", "examples", "top", "highest", "most", "mostly",
    ];

    private static readonly string[] Annotations =
    [
        "zinc ion binding", "ATP binding", "transmembrane transport", "nucleus", "DNA binding", "protein kinase activity",
        "signal peptide", "disulfide bond", "metal ion binding", "membrane", "cytoplasm", "extracellular region",
    ];

    public static async IAsyncEnumerable<FeatureDocument> Generate(int count, int seed)
    {
        var random = new Random(seed);
        var statuses = Enum.GetValues<DescriptionStatus>();
        var sources = Enum.GetValues<DescriptionSource>();
        for (var i = 0; i < count; i++)
        {
            var label = string.Join(' ', Enumerable.Range(0, random.Next(2, 6)).Select(_ => Pick(random, Domain)));
            var text = new StringBuilder();
            var words = random.Next(25, 91);
            for (var w = 0; w < words; w++)
            {
                if (w > 0) text.Append(' ');
                text.Append(random.NextDouble() < 0.45 ? Pick(random, Domain) : Pick(random, Filler));
                if (random.NextDouble() < 0.08) text.Append('.');
            }
            var annotations = Enumerable.Range(0, random.Next(0, 6)).Select(_ => Pick(random, Annotations)).Distinct().ToList();
            var documentCount = random.Next(0, 5000);
            yield return new FeatureDocument("ESMC-300M-sae-k64-codebook131072/layer23", i, label, text.ToString(),
                statuses[random.Next(statuses.Length)], sources[random.Next(sources.Length)], Math.Round(random.NextDouble(), 3),
                documentCount > 0 ? (float)(random.NextDouble() * 20) : null, documentCount, 5000,
                documentCount > 0 ? Math.Log(5000.0 / documentCount) : null, annotations, DateTimeOffset.UnixEpoch.AddSeconds(i));
            if (i % 4096 == 0) await Task.Yield();
        }
    }

    /// <summary>Zipf-like: early words of each list are much more frequent, as in real descriptions.</summary>
    private static string Pick(Random random, string[] words) => words[(int)(words.Length * Math.Pow(random.NextDouble(), 2.2))];
}
