using EsmcFeaturePlatform.HuggingFace;
using EsmcFeaturePlatform.TestSupport;
using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Cli;

/// <summary>
/// <c>esmc pull</c> against <see cref="FakeHub"/>, a loopback server speaking the Hub's protocol, serving the golden tiny
/// model and SAE in their real formats. The Hub settings come from the environment (HF_ENDPOINT, HF_TOKEN, HF_HOME,
/// HF_HUB_OFFLINE) as in real use, so the tests of this class run one at a time (one xunit class) and restore them.
/// </summary>
public sealed class PullTests : IDisposable
{
    private const string ModelRepo = "biohub/ESMC-tiny";
    private const string SaeRepo = "biohub/ESMC-tiny-sae-k4-codebook64";
    private const string Token = "hf_test_token";
    private static readonly string[] Variables = [HubSettings.EndpointVariable, HubSettings.TokenVariable, HubSettings.OfflineVariable, "HF_HOME"];

    private readonly Dictionary<string, string?> saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private readonly CliHarness harness = new();
    private readonly FakeHub hub = new();
    private readonly string source;
    private readonly string root;

    public PullTests()
    {
        source = TinyModelRoot.Create("esmc-hub-source");
        root = Path.Combine(harness.Root, "models");
        hub.AddRepository(ModelRepo, Path.Combine(source, TinyModelRoot.ModelName));
        // The SAE repo is private: it needs the token, which must never reach the CDN host.
        hub.AddRepository(SaeRepo, Path.Combine(source, TinyModelRoot.SaeRepository), token: Token);
        Environment.SetEnvironmentVariable(HubSettings.EndpointVariable, hub.Endpoint);
        Environment.SetEnvironmentVariable(HubSettings.TokenVariable, null);
        Environment.SetEnvironmentVariable(HubSettings.OfflineVariable, null);
        Environment.SetEnvironmentVariable("HF_HOME", Path.Combine(harness.Root, "hf-home"));   // no real token file
    }

    public void Dispose()
    {
        foreach (var (name, value) in saved) Environment.SetEnvironmentVariable(name, value);
        hub.Dispose();
        harness.Dispose();
        TempFolders.TryDelete(source);
    }

    private static Task<CliResult> Pull(params string[] args) => CliHarness.RunAsync(["pull", .. args]);

    private string Pulled(string repo, string file) => Path.Combine(root, repo[(repo.IndexOf('/') + 1)..], file);

    [Fact]
    public async Task Pulls_a_model_and_an_SAE_into_an_empty_root_and_encodes_the_same_numbers_as_the_files_themselves()
    {
        var model = await Pull(ModelRepo, "--root", root);
        var sae = await Pull(SaeRepo, "--root", root, "--token", Token, "--include", "layer_2.safetensors", "--include", "config.json");

        Assert.True(model.ExitCode == 0, model.Stderr);
        Assert.True(sae.ExitCode == 0, sae.Stderr);
        Assert.Equal(Path.Combine(root, "ESMC-tiny"), model.Stdout.Trim());
        // The huggingface-cli --local-dir layout: files at ROOT/NAME/PATH, download metadata under .cache/huggingface.
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(Path.Combine(root, "ESMC-tiny")).Select(Path.GetFileName).Order());
        Assert.Equal(["config.json", "layer_2.safetensors"], Directory.GetFiles(Path.Combine(root, "ESMC-tiny-sae-k4-codebook64")).Select(Path.GetFileName).Order());
        var metadata = File.ReadAllLines(Path.Combine(root, "ESMC-tiny", ".cache", "huggingface", "download", "model.safetensors.metadata"));
        Assert.Equal(40, metadata[0].Length);
        Assert.Equal(FakeHub.Sha256(File.ReadAllBytes(Path.Combine(source, "ESMC-tiny", "model.safetensors"))), metadata[1]);
        Assert.Equal("*", File.ReadAllText(Path.Combine(root, "ESMC-tiny", ".cache", "huggingface", ".gitignore")));
        Assert.Empty(Directory.GetFiles(root, "*.incomplete", SearchOption.AllDirectories));

        // The weights came through the redirect to the second host, and the token went only to the Hub's own host.
        Assert.Contains(hub.Requests, r => r.Host == "cdn" && r.Path.EndsWith("/layer_2.safetensors", StringComparison.Ordinal));
        Assert.DoesNotContain(hub.Requests, r => r.Host == "cdn" && r.Authorized);
        Assert.Contains(hub.Requests, r => r.Host == "hub" && r.Path.Contains("ESMC-tiny-sae", StringComparison.Ordinal) && r.Authorized);

        var fasta = harness.Write("q.fa", CliHarness.Fasta([("q1", "MKTAYIAKQRQISFVKSHFSRQ"), ("q2", "ACDEFGHIKLMNPQRSTVWY")]));
        string[] Encode(string modelRoot) =>
            ["encode", "--model", Path.Combine(modelRoot, "ESMC-tiny"), "--sae", Path.Combine(modelRoot, "ESMC-tiny-sae-k4-codebook64"), "--layer", "2", "--fasta", fasta, "--device", "cpu", "--quiet"];
        var fromPulled = await CliHarness.RunAsync(Encode(root));
        var fromFiles = await CliHarness.RunAsync(Encode(source));
        Assert.True(fromPulled.ExitCode == 0, fromPulled.Stderr);
        Assert.Equal(2, fromPulled.Lines.Count);
        Assert.NotEmpty(fromPulled.Lines[0].Pooled);
        Assert.Equal(fromFiles.Stdout, fromPulled.Stdout);

        // A second pull finds everything up to date and downloads nothing.
        var before = hub.Requests.Count(r => r.Host == "cdn");
        var again = await Pull(ModelRepo, "--root", root);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("0 downloaded, 2 up to date", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, hub.Requests.Count(r => r.Host == "cdn"));
    }

    [Fact]
    public async Task An_interrupted_pull_keeps_its_partial_file_and_resumes_it_with_a_range_request()
    {
        var expected = File.ReadAllBytes(Path.Combine(source, "ESMC-tiny", "model.safetensors"));
        hub.BreakNextDownloadAfter("model.safetensors", 100_000);

        var broken = await Pull(ModelRepo, "--root", root);

        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("'model.safetensors'", broken.Stderr, StringComparison.Ordinal);
        Assert.Contains("run the pull again to resume", broken.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Pulled(ModelRepo, "model.safetensors")));
        var partial = Assert.Single(Directory.GetFiles(root, "model.safetensors.*.incomplete", SearchOption.AllDirectories));
        Assert.Equal(100_000, new FileInfo(partial).Length);

        var resumed = await Pull(ModelRepo, "--root", root);

        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming model.safetensors", resumed.Stderr, StringComparison.Ordinal);
        Assert.Contains(hub.Requests, r => r.Host == "cdn" && r.Range == "bytes=100000-");
        Assert.Equal(expected, File.ReadAllBytes(Pulled(ModelRepo, "model.safetensors")));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task A_corrupted_download_is_refused_its_partial_file_deleted_and_nothing_put_in_place()
    {
        hub.CorruptNextDownload("layer_1.safetensors");

        var corrupt = await Pull(SaeRepo, "--root", root, "--token", Token, "--parallel", "1");

        Assert.Equal(1, corrupt.ExitCode);
        Assert.Contains("'layer_1.safetensors'", corrupt.Stderr, StringComparison.Ordinal);
        Assert.Contains("corrupt", corrupt.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Pulled(SaeRepo, "layer_1.safetensors")));
        Assert.Empty(Directory.GetFiles(root, "layer_1.safetensors.*.incomplete", SearchOption.AllDirectories));

        Environment.SetEnvironmentVariable(HubSettings.TokenVariable, Token);   // HF_TOKEN works as --token does
        var retried = await Pull(SaeRepo, "--root", root);
        Assert.True(retried.ExitCode == 0, retried.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, TinyModelRoot.SaeRepository, "layer_1.safetensors")), File.ReadAllBytes(Pulled(SaeRepo, "layer_1.safetensors")));
    }

    [Fact]
    public async Task A_private_repository_without_a_token_is_a_401_saying_how_to_pass_one()
    {
        var refused = await Pull(SaeRepo, "--root", root);
        var wrong = await Pull(SaeRepo, "--root", root, "--token", "hf_wrong");

        Assert.Equal(1, refused.ExitCode);
        var line = Assert.Single(refused.StderrLines);
        Assert.Contains("401", line, StringComparison.Ordinal);
        Assert.Contains(SaeRepo, line, StringComparison.Ordinal);
        Assert.Contains("--token", line, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", line, StringComparison.Ordinal);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("token given was refused", wrong.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(root, "ESMC-tiny-sae-k4-codebook64")) && Directory.GetFiles(Path.Combine(root, "ESMC-tiny-sae-k4-codebook64")).Length > 0);
    }

    [Fact]
    public async Task An_unknown_repository_or_revision_is_a_404_naming_them()
    {
        var repo = await Pull("biohub/ESMC-nothing", "--root", root);
        var revision = await Pull(ModelRepo, "--root", root, "--revision", "v9");
        var dataset = await Pull(ModelRepo, "--root", root, "--repo-type", "dataset");

        Assert.Equal(1, repo.ExitCode);
        Assert.Contains("'biohub/ESMC-nothing'", repo.Stderr, StringComparison.Ordinal);
        Assert.Contains("revision 'main'", repo.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, revision.ExitCode);
        Assert.Contains("revision 'v9' does not exist", revision.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, dataset.ExitCode);
        Assert.Contains("dataset 'biohub/ESMC-tiny'", dataset.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_command_lines_and_unmatched_patterns_are_clear_errors()
    {
        var noRepo = await Pull("--root", root);
        var badId = await Pull("ESMC-300M", "--root", root);
        var badType = await Pull(ModelRepo, "--repo-type", "space");
        var nothing = await Pull(ModelRepo, "--root", root, "--include", "*.bin");

        Assert.Equal(2, noRepo.ExitCode);
        Assert.Contains("missing REPO_ID", noRepo.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badId.ExitCode);
        Assert.Contains("OWNER/NAME", badId.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badType.ExitCode);
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("no file of model biohub/ESMC-tiny@main matches", nothing.Stderr, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", nothing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offline_mode_uses_what_is_downloaded_and_asks_nothing()
    {
        var emptyOffline = await WithOffline(() => Pull(ModelRepo, "--root", root));
        Assert.Equal(1, emptyOffline.ExitCode);
        Assert.Contains("HF_HUB_OFFLINE is set and nothing of", emptyOffline.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, (await Pull(ModelRepo, "--root", root)).ExitCode);
        var requests = hub.Requests.Count;
        var offline = await WithOffline(() => Pull(ModelRepo, "--root", root));
        Assert.True(offline.ExitCode == 0, offline.Stderr);
        Assert.Equal(requests, hub.Requests.Count);
    }

    [Fact]
    public async Task Not_enough_disk_space_fails_before_downloading_and_names_the_sizes()
    {
        using var client = new HubClient(HubSettings.FromEnvironment(), freeBytes: _ => 1000);
        var error = await Assert.ThrowsAsync<HubException>(() =>
            client.PullAsync(HubRepository.Parse(ModelRepo), Path.Combine(root, "ESMC-tiny"), new HubGlob([]), SilentHubProgress.Instance, 2, CancellationToken.None));

        Assert.Contains("not enough disk space", error.Message, StringComparison.Ordinal);
        Assert.Contains("1000 B free", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(hub.Requests, r => r.Host == "cdn");
    }

    [Fact]
    public async Task A_download_that_stalls_fails_instead_of_hanging_and_resumes_later()
    {
        hub.StallNextDownloadAfter("model.safetensors", 50_000);
        using var client = new HubClient(HubSettings.FromEnvironment(), readStall: TimeSpan.FromSeconds(1));
        var repository = HubRepository.Parse(ModelRepo);
        var target = Path.Combine(root, "ESMC-tiny");

        var error = await Assert.ThrowsAsync<HubException>(() => client.PullAsync(repository, target, new HubGlob([]), SilentHubProgress.Instance, 1, CancellationToken.None));
        Assert.Contains("received nothing for 1 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("'model.safetensors'", error.Message, StringComparison.Ordinal);

        var resumed = await client.PullAsync(repository, target, new HubGlob([]), SilentHubProgress.Instance, 1, CancellationToken.None);
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "ESMC-tiny", "model.safetensors")), File.ReadAllBytes(Path.Combine(target, "model.safetensors")));
        Assert.Contains(hub.Requests, r => r.Host == "cdn" && r.Range == "bytes=50000-");
        Assert.Equal(1, resumed.Downloaded);
    }

    [Theory]
    [InlineData("layer_23.safetensors", "layer_23.safetensors", true)]
    [InlineData("layer_2*.safetensors", "layer_23.safetensors", true)]
    [InlineData("layer_2?.safetensors", "layer_2.safetensors", false)]
    [InlineData("*.json", "sub/config.json", true)]          // fnmatch: '*' crosses '/'
    [InlineData("sub/", "sub/a/b.parquet", true)]
    [InlineData("layer_[12].safetensors", "layer_3.safetensors", false)]
    public void Include_patterns_follow_fnmatch(string pattern, string path, bool selected) =>
        Assert.Equal(selected, new HubGlob([pattern]).Selects(path));

    private static async Task<CliResult> WithOffline(Func<Task<CliResult>> pull)
    {
        Environment.SetEnvironmentVariable(HubSettings.OfflineVariable, "1");
        try { return await pull(); }
        finally { Environment.SetEnvironmentVariable(HubSettings.OfflineVariable, null); }
    }
}
