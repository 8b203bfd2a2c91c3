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
    string? MarkdownOut)
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
        """;

    public static BenchmarkOptions? Parse(string[] args)
    {
        var models = new List<DemoModelSize> { DemoModelSize.Esmc300M, DemoModelSize.Esmc600M };
        var lengths = new List<int> { 100, 300, 1000 };
        int tokens = 4096, mix = 32, budget = 8192, threads = Environment.ProcessorCount;
        string cache = Path.Combine("artifacts", "bench-models");
        string? markdown = null;
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
                case "--tokens-per-point": tokens = int.Parse(Value()); break;
                case "--mix-sequences": mix = int.Parse(Value()); break;
                case "--max-batch-tokens": budget = int.Parse(Value()); break;
                case "--model-cache": cache = Value(); break;
                case "--threads": threads = int.Parse(Value()); break;
                case "--markdown": markdown = Value(); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'. Try --help.");
            }
        }
        return new BenchmarkOptions(models, lengths, tokens, mix, budget, cache, threads, markdown);
    }
}
