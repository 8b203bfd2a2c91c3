using EsmcFeaturePlatform.Inference.TorchSharp;

namespace EsmcFeaturePlatform.Benchmarks;

internal sealed record BenchmarkOptions(
    IReadOnlyList<DemoModelSize> Models,
    IReadOnlyList<int> Lengths,
    int TokensPerPoint,
    int MixSequences,
    int MaxBatchTokens,
    string ModelCache,
    int Threads,
    string? MarkdownOut,
    bool Peer,
    string PeerPython,
    int Rounds,
    string BackbonePrecision,
    bool Profile,
    bool PackCpuWeights,
    int PackingPairs)
{
    private const string Help = """
        Inference benchmark: random weights at real ESMC sizes, float32 on CPU.

        dotnet run -c Release --project src/EsmcFeaturePlatform.Benchmarks -- [options]

          --models LIST            300M, 600M or tiny, comma-separated (default 300M,600M)
          --lengths LIST           residue lengths of the fixed-length points (default 100,300,1000)
          --tokens-per-point N     residues measured per fixed-length point (default 4096)
          --mix-sequences N        sequences in the mixed-length stream (default 32; the memory check
                                   also runs a stream of 2N)
          --max-batch-tokens N     padded-token budget per forward (default 8192, the server default)
          --model-cache DIR        where the random checkpoints are written once (default artifacts/bench-models)
          --threads N              torch intra-op threads (default: all cores)
          --markdown FILE          also write the Markdown report to FILE
          --peer pytorch           issue 18: ESMC-300M shapes only, our engine against a PyTorch implementation
                                   of the same forward (peer/esmc_pytorch_peer.py) on the same weights and
                                   batches, alternated; --tokens-per-point defaults to 1024 here
          --peer-python PATH       interpreter with torch for the peer (default /usr/bin/python3, Debian's
                                   python3-torch); when it is missing the peer is skipped with a message
          --rounds N               alternating rounds per workload in the peer run (default 3; medians)
          --profile                time each block and SAE operation alone at real batch shapes (where the time goes)
          --backbone-precision P   auto, float32 or bfloat16 (Esmc:Inference:BackbonePrecision; default auto)
          --pack-cpu-weights B     true or false (Esmc:Inference:PackCpuWeights; default true): MKL-packed weights
          --packing-ab N           ESMC-300M with packed and with unpacked weights in one process, N alternating
                                   pairs of batches per length (--tokens-per-point residues a batch, default 1024 here)
        """;

    public static BenchmarkOptions? Parse(string[] args)
    {
        var models = new List<DemoModelSize> { DemoModelSize.Esmc300M, DemoModelSize.Esmc600M };
        var lengths = new List<int> { 100, 300, 1000 };
        int tokens = 4096, mix = 32, budget = 8192, threads = Environment.ProcessorCount;
        string cache = Path.Combine("artifacts", "bench-models");
        string? markdown = null;
        bool peer = false;
        int? tokensGiven = null;
        string python = "/usr/bin/python3", precision = "auto";
        int rounds = 3;
        var profile = false;
        var pack = true;
        var packingPairs = 0;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--help" or "-h": Console.WriteLine(Help); return null;
                case "--models":
                    models = [.. Value().Split(',').Select(m => m.Trim().ToUpperInvariant() switch
                    {
                        "300M" => DemoModelSize.Esmc300M,
                        "600M" => DemoModelSize.Esmc600M,
                        "TINY" => DemoModelSize.Tiny with { ModelName = "ESMC-tiny-bench" },
                        var other => throw new ArgumentException($"Unknown model size '{other}' (300M, 600M or tiny)."),
                    })];
                    break;
                case "--lengths": lengths = [.. Value().Split(',').Select(int.Parse)]; break;
                case "--tokens-per-point": tokensGiven = int.Parse(Value()); break;
                case "--mix-sequences": mix = int.Parse(Value()); break;
                case "--max-batch-tokens": budget = int.Parse(Value()); break;
                case "--model-cache": cache = Value(); break;
                case "--threads": threads = int.Parse(Value()); break;
                case "--markdown": markdown = Value(); break;
                case "--peer":
                    peer = Value().Trim().ToLowerInvariant() == "pytorch" ? true : throw new ArgumentException("--peer takes 'pytorch' (the only peer).");
                    break;
                case "--peer-python": python = Value(); break;
                case "--profile": profile = true; break;
                case "--rounds": rounds = int.Parse(Value()); break;
                case "--backbone-precision": precision = Value(); break;
                case "--packing-ab": packingPairs = int.Parse(Value()); break;
                case "--pack-cpu-weights":
                    pack = bool.TryParse(Value(), out var b) ? b : throw new ArgumentException("--pack-cpu-weights takes true or false.");
                    break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'. Try --help.");
            }
        }
        tokens = tokensGiven ?? (peer || packingPairs > 0 ? 1024 : tokens);
        if (rounds < 1) throw new ArgumentException("--rounds must be at least 1.");
        return new BenchmarkOptions(models, lengths, tokens, mix, budget, cache, threads, markdown, peer, python, rounds, precision, profile, pack, packingPairs);
    }
}
