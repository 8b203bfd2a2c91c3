using EsmcFeaturePlatform.Cli.Commands;
using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Cli;

public sealed class HelpTests
{
    public static TheoryData<string> CommandNames() => new([EncodeCommand.Spec.Name, CreateDemoModelCommand.Spec.Name, ExportCommand.Spec.Name]);

    private static EsmcFeaturePlatform.Cli.CommandLine.CommandSpec SpecFor(string name) =>
        new[] { EncodeCommand.Spec, CreateDemoModelCommand.Spec, ExportCommand.Spec }.Single(s => s.Name == name);

    [Theory]
    [MemberData(nameof(CommandNames))]
    public async Task Help_documents_every_option(string command)
    {
        var viaFlag = await CliHarness.RunAsync(command, "--help");
        var viaHelp = await CliHarness.RunAsync("help", command);

        Assert.Equal(0, viaFlag.ExitCode);
        Assert.Equal(viaFlag.Stdout, viaHelp.Stdout);
        foreach (var option in SpecFor(command).Options)
            Assert.Contains($"--{option.Name}", viaFlag.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overall_help_lists_every_command()
    {
        var help = await CliHarness.RunAsync("--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var command in new[] { EncodeCommand.Spec.Name, CreateDemoModelCommand.Spec.Name, ExportCommand.Spec.Name }) Assert.Contains(command, help.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, (await CliHarness.RunAsync()).ExitCode);
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Docs_page_documents_every_command_and_option(string command)
    {
        // docs/cli.md is the page the README links; it must not drift from the parser.
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "docs", "cli.md"))) directory = directory.Parent;
        Assert.NotNull(directory);
        var page = File.ReadAllText(Path.Combine(directory.FullName, "docs", "cli.md"));
        Assert.Contains($"`{command}`", page, StringComparison.Ordinal);
        foreach (var option in SpecFor(command).Options)
            Assert.Contains($"`--{option.Name}", page, StringComparison.Ordinal);
    }
}
