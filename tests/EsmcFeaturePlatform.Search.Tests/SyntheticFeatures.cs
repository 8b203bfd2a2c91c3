using System.Text;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>
/// Deterministic features with description lengths like real ones (labels of 2-5 words, texts of 25-90 words,
/// 0-5 annotation terms) drawn Zipf-like from a protein vocabulary, so term frequencies resemble real text.
/// </summary>
public static class SyntheticFeatures
{
    /// <summary>The queries both search benchmarks (index level and HTTP) cycle through: words, phrases, prefixes, OR.</summary>
    public static IReadOnlyList<string> BenchmarkQueries { get; } =
    [
        "zinc", "transmembrane helix", "\"binding site\"", "kinase*", "atp binding loop", "signal OR transit",
        "coiled coil", "phospho*", "\"alpha helix\" amphipathic", "glycine rich", "cysteine", "nuclear localisation",
    ];

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

    /// <summary>
    /// Queries that never repeat (two or three vocabulary words, a quarter ending in a prefix), drawn like the
    /// descriptions' words: the path a cache cannot serve.
    /// </summary>
    public static IReadOnlyList<string> UniqueQueries(int count, int seed)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queries = new List<string>(count);
        while (queries.Count < count)
        {
            var words = Enumerable.Range(0, random.Next(2, 4)).Select(_ => Pick(random, Domain)).Distinct().ToList();
            if (random.NextDouble() < 0.25 && words[^1].Length > 4) words[^1] = words[^1][..4] + "*";
            var query = string.Join(' ', words);
            if (seen.Add(query)) queries.Add(query);
        }
        return queries;
    }

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
