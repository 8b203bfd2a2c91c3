using System.Reflection;
using EsmcFeaturePlatform.Cli.CommandLine;
using EsmcFeaturePlatform.Cli.Commands;
using EsmcFeaturePlatform.Inference.TorchSharp;

namespace EsmcFeaturePlatform.Cli;

/// <summary>
/// The <c>esmc</c> command line. <see cref="RunAsync(string[], TextWriter, TextWriter, CancellationToken)"/> takes its writers as arguments so that tests run the real
/// commands in-process; <c>Program</c> passes the console. Exit codes: 0 success, 1 failure (one line on stderr),
/// 2 bad command line, 130 interrupted.
/// </summary>
public static class Cli
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;
    public const int Interrupted = 130;

    private static readonly CommandSpec[] Commands = [EncodeCommand.Spec, CreateDemoModelCommand.Spec, ExportCommand.Spec, PullCommand.Spec, ImportFeaturesCommand.Spec];

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, TorchFeatureEncoder.OpenSingle, root => DemoModel.Create(root), cancellationToken);

    /// <summary>The same, with the inference library's entry points supplied by the caller.</summary>
    public static async Task<int> RunAsync(
        string[] args, TextWriter stdout, TextWriter stderr, EncoderOpener openEncoder, DemoModelWriter writeDemoModel,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help" && args.Length == 1)
        {
            stdout.Write(OverallHelp());
            return args.Length == 0 ? UsageError : Success;
        }
        if (args[0] is "--version")
        {
            stdout.WriteLine(typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");
            return Success;
        }

        var name = args[0] == "help" ? args[1] : args[0];
        var spec = Commands.FirstOrDefault(c => c.Name == name);
        if (spec is null)
        {
            stderr.WriteLine($"esmc: unknown command '{name}' (commands: {string.Join(", ", Commands.Select(c => c.Name))}; see 'esmc --help')");
            return UsageError;
        }
        var rest = args.Skip(1).ToArray();
        if (args[0] == "help" || CommandSpec.IsHelpRequest(rest))
        {
            stdout.Write(spec.Help());
            return Success;
        }

        try
        {
            return spec.Name switch
            {
                "encode" => await new EncodeCommand(openEncoder).RunAsync(rest, stdout, stderr, cancellationToken).ConfigureAwait(false),
                "create-demo-model" => await new CreateDemoModelCommand(writeDemoModel).RunAsync(rest, stdout, stderr).ConfigureAwait(false),
                "export" => await new ExportCommand().RunAsync(rest, stdout, stderr, cancellationToken).ConfigureAwait(false),
                // A redrawn bar only on a real terminal; tests and pipes get plain lines.
                "pull" => await new PullCommand(progressBar: ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected)
                    .RunAsync(rest, stdout, stderr, cancellationToken).ConfigureAwait(false),
                "import-features" => await new ImportFeaturesCommand().RunAsync(rest, stdout, stderr, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"command '{spec.Name}' has no handler"),
            };
        }
        catch (UsageException ex)
        {
            stderr.WriteLine($"esmc {spec.Name}: {OneLine(ex.Message)} (see 'esmc {spec.Name} --help')");
            return UsageError;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stderr.WriteLine($"esmc {spec.Name}: interrupted");
            return Interrupted;
        }
        catch (Exception ex)
        {
            // Every failure is one line naming the bad input; the exception types below already carry that in their
            // message, anything else gets its type name so that an unexpected bug is recognisable.
            var known = ex is IOException or FormatException or ArgumentException or InvalidOperationException
                or InvalidRecordException or UnauthorizedAccessException;
            stderr.WriteLine($"esmc {spec.Name}: error: {OneLine(known ? ex.Message : $"{ex.GetType().Name}: {ex.Message}")}");
            return Failure;
        }
    }

    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string OverallHelp()
    {
        var width = Commands.Max(c => c.Name.Length) + 2;
        var lines = string.Join(Environment.NewLine, Commands.Select(c => $"  {c.Name.PadRight(width)}{c.Summary}"));
        return $"""
            esmc: sparse-autoencoder features of ESMC protein language models.

            Usage: esmc COMMAND [OPTIONS]
                   esmc COMMAND --help

            Commands:
            {lines}

            Data goes to stdout (or --out), progress and errors to stderr.
            Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 bad command line, 130 interrupted.

            """;
    }
}
