using EsmcFeaturePlatform.HuggingFace;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Section <c>Esmc:Models</c>: repositories to pull from the Hugging Face Hub into the model root when the server starts,
/// before the model catalog loads (the same client and layout as <c>esmc pull</c>).
/// </summary>
public sealed class ModelPullOptions
{
    public const string SectionName = "Esmc:Models";

    /// <summary>What to pull, in order; empty = nothing (the default).</summary>
    public List<ModelPullEntry> Pull { get; set; } = [];

    /// <summary>Hub endpoint; default HF_ENDPOINT, else https://huggingface.co.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Hub token for gated or private repositories; default HF_TOKEN (or the token file huggingface-cli login writes).</summary>
    public string? Token { get; set; }

    public int ParallelDownloads { get; set; } = HubClient.DefaultParallelDownloads;

    public void Validate()
    {
        foreach (var entry in Pull)
        {
            if (string.IsNullOrWhiteSpace(entry.Repo)) throw new ArgumentException($"{SectionName}:Pull: every entry needs a Repo (OWNER/NAME).");
            try { HubRepository.Parse(entry.Repo, HubRepository.ParseType(entry.RepoType), entry.Revision); }
            catch (HubException ex) { throw new ArgumentException($"{SectionName}:Pull: {ex.Message}", ex); }
        }
        if (ParallelDownloads is < 1 or > 16) throw new ArgumentException($"{SectionName}:ParallelDownloads must be from 1 to 16; got {ParallelDownloads}.");
    }
}

/// <summary>One repository of <see cref="ModelPullOptions.Pull"/>: <c>{ "Repo": "biohub/ESMC-300M", "Include": ["*.json", "*.safetensors"] }</c>.</summary>
public sealed class ModelPullEntry
{
    public string Repo { get; set; } = "";
    public string? Revision { get; set; }
    public string RepoType { get; set; } = "model";
    public List<string> Include { get; set; } = [];
}

/// <summary>
/// Runs the configured pulls once, in the background, and tells the rest of the host where it stands: <c>/healthz</c>
/// answers "pulling" until it is done, and the inference encoder waits for it before it reads the model root, so the
/// catalog never loads a half-downloaded root. The HTTP endpoint is up the whole time.
/// </summary>
public sealed class ModelPuller(ModelPullOptions options, ILogger<ModelPuller> logger)
{
    private readonly TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string status = options.Pull.Count == 0 ? "done" : "pending";
    private volatile string? detail;

    /// <summary><c>pending</c>, <c>pulling</c>, <c>done</c> or <c>failed</c>.</summary>
    public string Status => status;

    /// <summary>What is being pulled (and how far), or why the pull failed.</summary>
    public string? Detail => detail;

    /// <summary>Completes when the pulls ended, successfully or not.</summary>
    public Task Completion => done.Task;

    /// <summary>Blocks until the pulls ended (the encoder's factory calls it: it runs once, off any request path that matters).</summary>
    public void WaitUntilDone()
    {
        if (options.Pull.Count == 0) return;
        if (!done.Task.IsCompleted) logger.LogInformation("Waiting for the model pull to finish before loading the model root");
        done.Task.GetAwaiter().GetResult();
    }

    public async Task RunAsync(string modelRoot, CancellationToken ct)
    {
        if (options.Pull.Count == 0)
        {
            done.TrySetResult();
            return;
        }
        status = "pulling";
        try
        {
            var variables = (Func<string, string?>)(name => name switch
            {
                HubSettings.EndpointVariable when !string.IsNullOrWhiteSpace(options.Endpoint) => options.Endpoint,
                _ => Environment.GetEnvironmentVariable(name),
            });
            using var client = new HubClient(HubSettings.FromEnvironment(options.Token, variables));
            foreach (var entry in options.Pull)
            {
                var repository = HubRepository.Parse(entry.Repo, HubRepository.ParseType(entry.RepoType), entry.Revision);
                var target = Path.Combine(modelRoot, repository.LocalName);
                detail = $"{repository} into {target}";
                logger.LogInformation("Pulling {Repository} into {Target}", repository, target);
                var result = await client.PullAsync(repository, target, new HubGlob(entry.Include), new LoggedProgress(this, logger, repository), options.ParallelDownloads, ct);
                logger.LogInformation("Pulled {Repository}: {Downloaded} downloaded, {UpToDate} up to date, {Bytes}", repository, result.Downloaded, result.UpToDate, HubClient.Size(result.BytesReceived));
            }
            detail = null;
            status = "done";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The server still starts with what the model root holds; /healthz reports the failure until a restart fixes it.
            detail = ex.Message;
            status = "failed";
            logger.LogError("Model pull failed: {Reason}", ex.Message);
        }
        finally
        {
            done.TrySetResult();
        }
    }

    /// <summary>Progress in the log (a line per verified file and every 10 s) and in /healthz's detail.</summary>
    private sealed class LoggedProgress(ModelPuller puller, ILogger logger, HubRepository repository) : IHubProgress
    {
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private long total;
        private long received;
        private long lastLog;

        public void Planned(HubListing listing, IReadOnlyList<HubFile> toDownload, long bytes, int upToDate)
        {
            total = bytes;
            logger.LogInformation("{Repository}: {Files} file(s) to download ({Bytes}), {UpToDate} up to date", repository, toDownload.Count, HubClient.Size(bytes), upToDate);
        }

        public void Received(HubFile file, long bytes)
        {
            var now = Interlocked.Add(ref received, bytes);
            puller.detail = $"{repository}: {HubClient.Size(now)} of {HubClient.Size(total)}";
            var seconds = clock.ElapsedMilliseconds / 10_000;
            if (seconds > Interlocked.Read(ref lastLog) && Interlocked.Exchange(ref lastLog, seconds) < seconds)
                logger.LogInformation("{Repository}: {Received} of {Total}", repository, HubClient.Size(now), HubClient.Size(total));
        }

        public void Resuming(HubFile file, long offset) => logger.LogInformation("{Repository}: resuming {File} at {Offset}", repository, file.Path, HubClient.Size(offset));

        public void Completed(HubFile file) => logger.LogInformation("{Repository}: {File} verified", repository, file.Path);

        public void Note(string message) => logger.LogInformation("{Repository}: {Message}", repository, message);
    }
}

/// <summary>Starts the pull when the host starts, without holding up the HTTP endpoint.</summary>
internal sealed class ModelPullService(ModelPuller puller, PlatformOptions platform) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => puller.RunAsync(ModelPulls.ModelRoot(platform), stoppingToken), stoppingToken);
}

public static class ModelPulls
{
    /// <summary>Esmc:ModelRoot, else DataRoot/models (where the demo model goes when nothing is pulled).</summary>
    public static string ModelRoot(PlatformOptions platform) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(platform.ModelRoot) ? Path.Combine(platform.ResolvedDataRoot, "models") : platform.ModelRoot);

    /// <summary>Esmc:Models: the options, the puller and its background service (registered before Orleans, so it starts first).</summary>
    public static IHostApplicationBuilder AddEsmcModelPull(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(ModelPullOptions.SectionName).Get<ModelPullOptions>() ?? new ModelPullOptions();
        options.Validate();
        if (!builder.Configuration.GetPlatformOptions().HostsSilo) options.Pull.Clear();   // an API-only host loads no models
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ModelPuller>();
        if (options.Pull.Count > 0) builder.Services.AddHostedService<ModelPullService>();
        return builder;
    }
}
