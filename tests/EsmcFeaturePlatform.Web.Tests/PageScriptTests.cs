using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using EsmcFeaturePlatform.GraphQL;
using Xunit;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>
/// The page's JavaScript without a browser: its unit tests under <c>node --test</c> (js/*.test.mjs, which also check
/// the modules' import graph for cycles), the error codes it explains against the codes the server's code defines,
/// and what the build serves. Node is already needed by the tests (Azurite); these need no server.
/// </summary>
public sealed class PageScriptTests
{
    private static readonly string Root = WebPlatform.RepoRoot();
    private static readonly string Scripts = Path.Combine(Root, "src", "EsmcFeaturePlatform.Web", "wwwroot", "js");
    private static readonly string NodeTests = Path.Combine(Root, "tests", "EsmcFeaturePlatform.Web.Tests", "js");

    [Fact]
    public async Task The_pages_unit_tests_pass_under_node_test()
    {
        var files = Directory.GetFiles(NodeTests, "*.test.mjs").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);
        var (exit, output) = await NodeAsync(["--test", .. files]);
        Assert.True(exit == 0, $"node --test failed (exit {exit}):\n{output}");
        // The runner's summary: tests ran, none failed.
        var passed = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("# pass ", StringComparison.Ordinal));
        Assert.True(passed is not null && int.Parse(passed["# pass ".Length..], System.Globalization.CultureInfo.InvariantCulture) > 0, output);
        Assert.Contains("# fail 0", output);
    }

    [Fact]
    public async Task The_page_explains_every_error_code_the_server_sends_and_no_other()
    {
        var (exit, output) = await NodeAsync(["--input-type=module", "-e",
            $"const m = await import({JsonSerializer.Serialize(new Uri(Path.Combine(Scripts, "errors.js")).AbsoluteUri)}); "
            + "console.log(JSON.stringify({ server: Object.keys(m.SERVER_CODES), page: Object.keys(m.PAGE_CODES) }));"]);
        Assert.True(exit == 0, output);
        var codes = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        var explained = codes.GetProperty("server").EnumerateArray().Select(c => c.GetString()!).Order(StringComparer.Ordinal).ToArray();
        var pageOwn = codes.GetProperty("page").EnumerateArray().Select(c => c.GetString()!).ToArray();

        Assert.Equal(ServerErrorCodes().Order(StringComparer.Ordinal).ToArray(), explained);
        Assert.Empty(pageOwn.Intersect(ServerErrorCodes()));   // the page's own codes (no answer, not JSON) are not the server's
    }

    [Fact]
    public void The_built_page_holds_every_module_and_nothing_for_node()
    {
        var served = Path.Combine(AppContext.BaseDirectory, "esmc-web");
        var modules = Directory.GetFiles(Scripts, "*.js", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Scripts, f)).Order(StringComparer.Ordinal).ToArray();
        var copied = Directory.GetFiles(Path.Combine(served, "js"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Path.Combine(served, "js"), f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Contains(Path.Combine("pages", "analyze.js"), modules);
        Assert.Equal(modules, copied);
        Assert.False(File.Exists(Path.Combine(served, "package.json")), "wwwroot/package.json (for node only) is copied to the served page");
    }

    /// <summary>
    /// The extensions.code values the server can send: GraphQL's contract codes (<see cref="ErrorCodes.All"/>) and any
    /// other error code a route defines as a public constant named *ErrorCode (the AlphaFold route's UPSTREAM_UNAVAILABLE).
    /// </summary>
    internal static HashSet<string> ServerErrorCodes()
    {
        var codes = new HashSet<string>(ErrorCodes.All, StringComparer.Ordinal);
        foreach (var type in new[] { typeof(Program).Assembly, typeof(ErrorCodes).Assembly }.SelectMany(a => a.GetTypes()))
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
                if (field is { IsLiteral: true } && field.FieldType == typeof(string) && (field.Name.EndsWith("ErrorCode", StringComparison.Ordinal) || type == typeof(ErrorCodes)))
                    codes.Add((string)field.GetRawConstantValue()!);
        return codes;
    }

    private static async Task<(int Exit, string Output)> NodeAsync(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Root };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception ex) { throw new InvalidOperationException("node is not on PATH (Node.js 20 or later is needed by the tests; README, Set-up).", ex); }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            // Guards against a hang only; the tests take about a second.
            using var hang = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            try { await process.WaitForExitAsync(hang.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException("node did not finish in 5 minutes:\n" + await stdout + await stderr); }
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
