using EsmcFeaturePlatform.HuggingFace;

namespace EsmcFeaturePlatform.Server.Hosting;

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
