using System.Diagnostics;
using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Inference.TorchSharp;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Bulk export throughput (issue 4, BENCHMARKS.md section 3): every feature of a 131,072-feature SAE over real
/// loopback HTTP (the first pass activates every feature grain, which reads its state from Azurite; the second finds
/// them active) and through <c>esmc export</c> as a process writing a file. Prints features/s and MiB/s; asserts only
/// that every row arrived. Run: <c>ESMC_RUN_BENCHMARKS=1 dotnet test tests/EsmcFeaturePlatform.Server.Tests -c Release
/// --filter FullyQualifiedName~ExportBenchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait("Category", "Benchmark")]
public sealed class ExportBenchmark(ITestOutputHelper output)
{
    private const int Features = 131_072;

    [BenchmarkFact]
    public async Task Export_of_131072_features_over_http_and_through_the_cli()
    {
        // A tiny random model whose SAE has a 131,072-feature codebook: the export reads grain state, not weights.
        var root = Path.Combine(Path.GetTempPath(), "esmc-bench-export-models");
        var sae = DemoModel.Create(root, new DemoModelSize("ESMC-export-d64", 64, 4, 4, 3, Features, 16))[0];
        await using var platform = new PlatformFactory().WithWebHostBuilder(b => b
            .UseSetting("Esmc:ModelRoot", root)
            .UseSetting("Esmc:RateLimit:Enabled", "false"));
        platform.UseKestrel(0);
        platform.StartServer();
        var server = platform.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()
            .Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = new Uri(server), Timeout = Timeout.InfiniteTimeSpan };

        var report = new StringBuilder();
        report.AppendLine("Start: " + BenchmarkMachine.Describe());
        report.AppendLine(CultureInfo.InvariantCulture, $"Export of {Features:N0} features ({sae}), {Environment.ProcessorCount} cores, loopback HTTP/1.1 to Kestrel, silo on Azurite");
        report.AppendLine();
        report.AppendLine("| pass | format | seconds | features/s | MiB | MiB/s |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (pass, format) in new[] { ("HTTP, cold grains", "jsonl"), ("HTTP, active grains", "jsonl"), ("HTTP, active grains", "csv") })
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync($"/api/v1/saes/{sae}/features.{format}", HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            long bytes = 0, lines = 0;
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                bytes += read;
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
            }
            var seconds = clock.Elapsed.TotalSeconds;
            // Synthetic features have no descriptions, so no CSV field holds a line break: lines = rows (+ header).
            Assert.Equal(Features, format == "csv" ? lines - 1 : lines);
            report.AppendLine(Row(pass, format, seconds, bytes));
        }

        var file = Path.Combine(Path.GetTempPath(), $"esmc-export-bench-{Guid.NewGuid():N}.jsonl");
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "esmc.dll"), "export", "--server", server, "--sae", sae, "--out", file, "--quiet" })
                start.ArgumentList.Add(arg);
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var seconds = clock.Elapsed.TotalSeconds;
            Assert.True(process.ExitCode == 0, stderr);
            Assert.Equal(Features, File.ReadLines(file).Count());
            report.AppendLine(Row("esmc export to a file (process start included)", "jsonl", seconds, new FileInfo(file).Length));
        }
        finally
        {
            File.Delete(file);
        }
        report.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("ESMC_BENCHMARK_OUT") is { Length: > 0 } path) await File.AppendAllTextAsync(path, report.ToString());
    }

    private static string Row(string pass, string format, double seconds, long bytes) => string.Create(CultureInfo.InvariantCulture,
        $"| {pass} | {format} | {seconds:F1} | {Features / seconds:N0} | {bytes / 1048576.0:F1} | {bytes / 1048576.0 / seconds:F1} |");
}
