using System.Diagnostics;
using EsmcFeaturePlatform.Cli.CommandLine;
using EsmcFeaturePlatform.HuggingFace;

namespace EsmcFeaturePlatform.Cli.Commands;

/// <summary>
/// <c>pull REPO_ID</c>: a model, SAE or dataset repository from the Hugging Face Hub into ROOT/NAME, the layout
/// <c>huggingface-cli download REPO --local-dir ROOT/NAME</c> leaves (so the model root works unchanged), with no Python.
/// The protocol, resuming and verification are <see cref="HubClient"/>'s; this command parses options and shows progress.
/// </summary>
public sealed class PullCommand(bool progressBar)
{
    public const string DefaultRoot = "./data/models";

    public static CommandSpec Spec { get; } = new(
        "pull",
        "Download a model, SAE or dataset repository from the Hugging Face Hub into a model root (resumable, verified).",
        $"""
        Downloads into ROOT/NAME (NAME = the part after the '/'), exactly as 'huggingface-cli download REPO_ID
        --local-dir ROOT/NAME' does, including its .cache/huggingface folder (download metadata, partial files), so
        either tool can continue the other's download. Files already there with the listed hash are skipped; an
        interrupted download resumes where it stopped (HTTP Range); every LFS file's SHA-256 (any other file's git
        blob id) is checked before it is renamed into place, and a mismatch deletes the partial file and fails.
        Environment: {HubSettings.EndpointVariable} (a mirror; default {HubSettings.DefaultEndpoint}), {HubSettings.TokenVariable} (token for
        gated or private repositories; else the file $HF_HOME/token that 'huggingface-cli login' writes),
        {HubSettings.OfflineVariable}=1 (no network: succeed only with files already downloaded).
        Examples:
          esmc pull biohub/ESMC-300M --root ./models
          esmc pull biohub/ESMC-300M-sae-k64-codebook16384 --include 'layer_23.safetensors' --include config.json
          esmc pull biohub/ESMC-SAE-Features --repo-type dataset --root ./datasets
        """,
        [
            new OptionSpec("revision", "REV", "Branch, tag or commit.", Default: "main"),
            new OptionSpec("include", "GLOB", "Only files matching GLOB (fnmatch: '*' also crosses '/'; 'dir/' = everything under dir). Repeat for several; none = every file.", Repeatable: true),
            new OptionSpec("repo-type", "model|dataset", "Kind of repository.", Default: "model"),
            new OptionSpec("root", "DIR", "Model root to download into (ROOT/NAME).", Default: DefaultRoot),
            new OptionSpec("token", "TOKEN", $"Hub token (wins over {HubSettings.TokenVariable})."),
            new OptionSpec("parallel", "N", "Files downloaded at once (1..16).", Default: HubClient.DefaultParallelDownloads.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new OptionSpec("quiet", null, "No progress on stderr (errors are still printed)."),
        ],
        positional: "REPO_ID");

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var parsed = Spec.Parse(args);
        HubRepository repository;
        HubSettings settings;
        try
        {
            repository = HubRepository.Parse(parsed.Positional!, HubRepository.ParseType(parsed.Value("repo-type") ?? "model"), parsed.Value("revision"));
            settings = HubSettings.FromEnvironment(parsed.Value("token"));
        }
        catch (HubException ex)
        {
            throw new UsageException(ex.Message);
        }
        var root = parsed.Value("root") ?? DefaultRoot;
        if (File.Exists(root)) throw new UsageException($"--root '{root}' is a file; expected a folder for the model root");
        var parallel = parsed.Int("parallel", 1, 16) ?? HubClient.DefaultParallelDownloads;
        var target = Path.Combine(root, repository.LocalName);

        var progress = new PullProgress(stderr, parsed.Flag("quiet"), progressBar);
        using var client = new HubClient(settings);
        var result = await client.PullAsync(repository, target, new HubGlob(parsed.Values("include")), progress, parallel, cancellationToken).ConfigureAwait(false);
        progress.Finish(result);
        // The folder on stdout, so a script can use it: dir=$(esmc pull biohub/ESMC-300M --quiet)
        stdout.WriteLine(result.LocalDirectory);
        return Cli.Success;
    }

    /// <summary>
    /// A one-line bar redrawn in place on a terminal; plain lines (one per finished file, and one every few seconds)
    /// when stderr is a file or a pipe, so logs stay readable.
    /// </summary>
    private sealed class PullProgress(TextWriter stderr, bool quiet, bool bar) : IHubProgress
    {
        private static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan BarInterval = TimeSpan.FromMilliseconds(200);
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly Lock gate = new();
        private long total;
        private long done;
        private int files;
        private int finished;
        private TimeSpan lastDraw;
        private bool barShown;

        public void Planned(HubListing listing, IReadOnlyList<HubFile> toDownload, long bytes, int upToDate)
        {
            total = bytes;
            files = toDownload.Count;
            Write($"esmc pull: {listing.Repository} (commit {Short(listing.Commit)}): {toDownload.Count} file(s) to download, {HubClient.Size(bytes)}; {upToDate} already up to date");
        }

        public void Resuming(HubFile file, long offset) => Write($"esmc pull: resuming {file.Path} at {HubClient.Size(offset)} of {HubClient.Size(file.Size)}");

        public void Received(HubFile file, long bytes)
        {
            lock (gate)
            {
                done += bytes;
                var interval = bar ? BarInterval : LineInterval;
                if (quiet || clock.Elapsed - lastDraw < interval) return;
                lastDraw = clock.Elapsed;
                if (bar) DrawBar();
                else stderr.WriteLine($"esmc pull: {Status()}");
            }
        }

        public void Completed(HubFile file)
        {
            lock (gate)
            {
                finished++;
                Write($"esmc pull: {file.Path} ({HubClient.Size(file.Size)}) verified [{finished}/{files}]");
            }
        }

        public void Note(string message) => Write($"esmc pull: {message}");

        public void Finish(HubPullResult result)
        {
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            lock (gate)
            {
                if (barShown && !quiet) stderr.Write("\r\u001b[K");
                barShown = false;
            }
            Write($"esmc pull: {result.Downloaded} downloaded, {result.UpToDate} up to date, {HubClient.Size(result.BytesReceived)} in {seconds:F1} s into {result.LocalDirectory}");
        }

        private string Status()
        {
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var percent = total > 0 ? 100.0 * done / total : 100.0;
            return $"{percent,5:F1}% {HubClient.Size(done)} of {HubClient.Size(total)}, {HubClient.Size((long)(done / seconds))}/s, {finished}/{files} files";
        }

        private void DrawBar()
        {
            const int width = 30;
            var filled = total > 0 ? (int)Math.Clamp(width * done / total, 0, width) : width;
            stderr.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {Status()}   ");
            barShown = true;
        }

        private void Write(string line)
        {
            if (quiet) return;
            lock (gate)
            {
                if (barShown) stderr.Write("\r\u001b[K");   // clear the bar's line, write the message, redraw the bar below
                stderr.WriteLine(line);
                if (barShown) DrawBar();
            }
        }

        private static string Short(string commit) => commit.Length > 12 ? commit[..12] : commit;
    }
}
