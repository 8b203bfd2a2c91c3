using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Xunit;
using EsmcCli = EsmcFeaturePlatform.Cli.Cli;

namespace EsmcFeaturePlatform.Inference.Tests.Cli;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<EncodedLine> Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(EncodedLine.Parse).ToList();

    public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>One JSON line of <c>encode</c>, parsed independently of the CLI's writer; values kept as their JSON text too.</summary>
public sealed record EncodedLine(string Id, int Length, string Sae, bool Normalized, List<List<(int Index, float Value, string Text)>> Residues, List<(int Index, float Value, string Text)> Pooled)
{
    public static EncodedLine Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        // docs/contracts.md, section 2: its fields in order; "normalizationSource" (when normalized) and "unknownTokens" (--unknown-as-unk) are extensions.
        Assert.Equal(["id", "length", "sae", "normalized", "residues", "pooled"],
            root.EnumerateObject().Select(p => p.Name).Where(n => n is not ("normalizationSource" or "unknownTokens")));
        Assert.Equal(root.GetProperty("normalized").GetBoolean(), root.TryGetProperty("normalizationSource", out _));
        return new EncodedLine(
            root.GetProperty("id").GetString()!,
            root.GetProperty("length").GetInt32(),
            root.GetProperty("sae").GetString()!,
            root.GetProperty("normalized").GetBoolean(),
            root.GetProperty("residues").EnumerateArray().Select(FeatureList).ToList(),
            FeatureList(root.GetProperty("pooled")));
    }

    private static List<(int, float, string)> FeatureList(JsonElement list) =>
        list.EnumerateArray().Select(pair =>
        {
            Assert.Equal(2, pair.GetArrayLength());
            var value = pair[1];
            return (pair[0].GetInt32(), float.Parse(value.GetRawText(), CultureInfo.InvariantCulture), value.GetRawText());
        }).ToList();
}

/// <summary>Runs the real CLI in-process (the same entry point Program uses) or as a separate process.</summary>
public sealed class CliHarness : IDisposable
{
    public static readonly string EsmcTiny = Path.Combine(AppContext.BaseDirectory, "fixtures", "esmc_tiny");
    public static readonly string TinyModel = Path.Combine(EsmcTiny, "esmc_tiny_hf_te");
    public static readonly string TinyStatesSae = Path.Combine(EsmcTiny, "sae_tiny_states");

    public string Root { get; } = Directory.CreateTempSubdirectory("esmc-cli-tests-").FullName;

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = await EsmcCli.RunAsync(args, stdout, stderr, cancellationToken);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Starts <c>dotnet esmc.dll</c> from this test's output folder (copied there by the project reference).</summary>
    public static async Task<CliResult> RunProcessAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "esmc.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// encode on the golden tiny model, pinned to the CPU: on a CUDA build "auto" would run bfloat16, which is
    /// outside the golden tolerance by design.
    /// </summary>
    public static string[] EncodeArgs(string fasta, params string[] extra) =>
        ["encode", "--model", TinyModel, "--sae", TinyStatesSae, "--layer", "2", "--fasta", fasta, "--device", "cpu", "--quiet", .. extra];

    public string Write(string name, string text)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    public string WriteGzip(string name, string text)
    {
        var path = Path.Combine(Root, name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        gzip.Write(Encoding.UTF8.GetBytes(text));
        return path;
    }

    /// <summary>FASTA with sequences wrapped at <paramref name="width"/> residues, as most files are.</summary>
    public static string Fasta(IEnumerable<(string Id, string Sequence)> records, int width = 10)
    {
        var text = new StringBuilder();
        foreach (var (id, sequence) in records)
        {
            text.Append('>').Append(id).Append(" test record\n");
            for (var i = 0; i < sequence.Length; i += width)
                text.Append(sequence.AsSpan(i, Math.Min(width, sequence.Length - i))).Append('\n');
        }
        return text.ToString();
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
