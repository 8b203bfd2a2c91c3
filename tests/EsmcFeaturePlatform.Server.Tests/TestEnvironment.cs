using System.Net.Sockets;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Server.Hosting;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// What every test here shares: one Azurite on the tests' own ports (TestStorage: the one CI started, else one this
/// process starts from the repository's node_modules, in memory), the golden tiny model arranged as a model root, and a
/// small deterministic corpus.
/// </summary>
public static class TestEnvironment
{
    public const string StatesRepo = TinyModelRoot.SaeRepository;
    public const string SaeWithRealStats = TinyModelRoot.SaeWithRealStats;
    public const string SaeWithPlaceholderStats = TinyModelRoot.SaeWithPlaceholderStats;

    private static readonly Lazy<AzuriteLauncher> Azurite = new(() =>
    {
        var launcher = AzuriteLauncher.EnsureRunning(Path.Combine(Path.GetTempPath(), "esmc-tests-azurite"), inMemory: true, _ => { }, TestStorage.ConnectionString);
        // Deliberately left running when this process exits: the test assemblies of one `dotnet test` run in
        // parallel processes and share the emulator on the tests' ports (TestStorage), so whichever started it must
        // not take it away from the others. It is in-memory and on loopback; .ci/run starts and stops its own.
        GC.KeepAlive(launcher);
        return launcher;
    });

    /// <summary>The generated RANDOM demo model's residual-stream SAE, beside the golden tiny model (what a fresh server serves).</summary>
    public const string DemoSae = "ESMC-demo-sae-layer3-k16-codebook512/layer3";

    private static readonly Lazy<string> Root = new(() =>
    {
        var root = TinyModelRoot.Create("esmc-tests-models");
        if (!DemoModel.Create(root).Contains(DemoSae)) throw new InvalidOperationException($"The demo model no longer has SAE {DemoSae}.");
        return root;
    });

    public static void EnsureAzurite() => _ = Azurite.Value;

    /// <summary>The tests' emulator (TestStorage), with Azurite started there if nothing listens yet.</summary>
    public static string StorageConnectionString
    {
        get
        {
            EnsureAzurite();
            return TestStorage.ConnectionString;
        }
    }

    public static string ModelRoot => Root.Value;

    public static TorchFeatureEncoder OpenEncoder() => TorchFeatureEncoder.OpenModelRoot(ModelRoot, new InferenceOptions());


    /// <summary>
    /// The corpus root the test hosts read from (Esmc:Corpus:Roots): the server reads no file outside its roots, so test
    /// corpora and statistics files are written here.
    /// </summary>
    public static string CorpusRoot { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "esmc-test-corpora")).FullName;

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>A FASTA corpus of short random proteins (fixed seed), with one id repeated (its later record must be ignored).</summary>
    public static (string Path, IReadOnlyList<(string Id, string Sequence)> Records) WriteCorpus(int count, int seed)
    {
        const string alphabet = "ACDEFGHIKLMNPQRSTVWY";
        var random = new Random(seed);
        var records = new List<(string, string)>();
        for (var i = 0; i < count; i++)
        {
            var length = random.Next(6, 30);
            records.Add(($"prot{seed}_{i:D3}", new string(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray())));
        }
        records.Add((records[2].Item1, "MKWVTFISLLLLFSSAYS"));
        var path = Path.Combine(CorpusRoot, $"esmc-corpus-{seed}-{Guid.NewGuid():N}.fasta");
        File.WriteAllLines(path, records.SelectMany(r => new[] { $">{r.Item1} test protein", r.Item2 }));
        return (path, records);
    }
}

/// <summary>
/// The numbers docs/contracts.md, section 3.3, defines, computed directly from the encoder over the corpus's distinct ids (first
/// record wins), with no grain involved: what the platform must reproduce.
/// </summary>
public sealed class ExpectedCorpus
{
    public required int CorpusSize { get; init; }
    public required Dictionary<int, (float Max, int DocumentCount)> Stats { get; init; }
    public required Dictionary<int, List<ActivationExample>> TopExamples { get; init; }

    /// <param name="encoder">The encoder the platform under test uses.</param>
    /// <param name="saeId">The SAE indexed into.</param>
    /// <param name="records">The corpus's records in file order (a repeated id counts once, its first record).</param>
    /// <param name="topExamples">Top examples kept per feature.</param>
    /// <param name="windowResidues">When set, longer sequences are encoded as indexing's onOverLong: WINDOW does (LongSequenceWindows).</param>
    public static async Task<ExpectedCorpus> ComputeAsync(
        IFeatureEncoder encoder, string saeId, IReadOnlyList<(string Id, string Sequence)> records, int topExamples, int? windowResidues = null)
    {
        var distinct = new List<(string Id, string Sequence)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in records) if (seen.Add(record.Id)) distinct.Add(record);

        var stats = new Dictionary<int, (float Max, int DocumentCount)>();
        var examples = new Dictionary<int, List<ActivationExample>>();
        foreach (var (id, sequence) in distinct)
        {
            EncodedSequence encoded;
            if (windowResidues is { } longest && sequence.Length > longest)
            {
                var windows = LongSequenceWindows.Plan(sequence.Length, longest);
                var parts = await encoder.EncodeAsync(saeId, [.. windows.Select(w => sequence.Substring(w.Start, w.Length))]);
                encoded = LongSequenceWindows.Merge(saeId, sequence.Length, windows, parts);
            }
            else encoded = (await encoder.EncodeAsync(saeId, [sequence]))[0];
            var perFeature = new Dictionary<int, float[]>();
            for (var r = 0; r < encoded.Length; r++)
                foreach (var f in encoded.Residues[r])
                {
                    if (f.Value <= 0) continue;
                    if (!perFeature.TryGetValue(f.Index, out var dense)) perFeature[f.Index] = dense = new float[encoded.Length];
                    dense[r] = f.Value;
                }
            foreach (var (index, dense) in perFeature)
            {
                var max = dense.Max();
                var position = Array.IndexOf(dense, max) + 1;
                stats[index] = stats.TryGetValue(index, out var s) ? (Math.Max(s.Max, max), s.DocumentCount + 1) : (max, 1);
                if (!examples.TryGetValue(index, out var list)) examples[index] = list = [];
                list.Add(new ActivationExample(id, max, position, sequence, dense));
            }
        }
        foreach (var list in examples.Values)
        {
            list.Sort((a, b) => b.MaxValue != a.MaxValue ? b.MaxValue.CompareTo(a.MaxValue) : string.CompareOrdinal(a.SequenceId, b.SequenceId));
            if (list.Count > topExamples) list.RemoveRange(topExamples, list.Count - topExamples);
        }
        return new ExpectedCorpus { CorpusSize = distinct.Count, Stats = stats, TopExamples = examples };
    }
}
