using EsmcFeaturePlatform.Cli.CommandLine;
using EsmcFeaturePlatform.Inference.TorchSharp;

namespace EsmcFeaturePlatform.Cli.Commands;

/// <summary>Writes the demo model and returns the SAE ids it wrote (the seam over DemoModel.Create).</summary>
public delegate IReadOnlyList<string> DemoModelWriter(string modelRoot);

/// <summary><c>create-demo-model</c>: a deterministic random ESMC checkpoint and SAE repos in the real file formats.</summary>
public sealed class CreateDemoModelCommand(DemoModelWriter writeDemoModel)
{
    public static CommandSpec Spec { get; } = new(
        "create-demo-model",
        "Write a tiny deterministic RANDOM ESMC model and SAE repos under a model root (meaningless biology).",
        $"""
        The weights are random numbers from a fixed seed, so the files are byte-for-byte identical on every
        machine. The features they produce mean nothing biologically: the demo model exists so that demos, tests
        and benchmarks exercise the real file formats and code paths without the real weights.
        Layout (docs/contracts.md, section 1): ROOT/{DemoModel.ModelName}/ (config.json + model.safetensors) and one
        folder per SAE repo, ROOT/{DemoModel.ModelName}-sae-.../ (config.json + layer_N.safetensors). Existing
        identical files are left as they are. Prints the SAE ids and an encode command line to stdout.
        """,
        [new OptionSpec("out", "ROOT", "Model root folder to write into (created when missing).", Required: true)]);

    public Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var parsed = Spec.Parse(args);
        var root = parsed.Required("out");
        if (File.Exists(root)) throw new UsageException($"--out '{root}' is a file; expected a folder for the model root");

        var saeIds = writeDemoModel(root);
        var modelDir = Path.Combine(root, DemoModel.ModelName);
        stdout.WriteLine($"Demo model (random weights, meaningless biology) written under {Path.GetFullPath(root)}");
        stdout.WriteLine($"  model: {modelDir}");
        foreach (var id in saeIds) stdout.WriteLine($"  sae:   {id}");
        if (saeIds.Count > 0)
        {
            var (repo, layer) = SplitSaeId(saeIds[0]);
            stdout.WriteLine("Try:");
            stdout.WriteLine($"  esmc encode --model {modelDir} --sae {Path.Combine(root, repo)} --layer {layer} --fasta FILE");
        }
        return Task.FromResult(0);
    }

    private static (string Repo, string Layer) SplitSaeId(string saeId)
    {
        var slash = saeId.LastIndexOf('/');
        return (saeId[..slash], saeId[(slash + "/layer".Length)..]);
    }
}
