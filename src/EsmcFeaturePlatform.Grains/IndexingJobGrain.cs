using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Corpus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

/*
 * Design note: how an INDEX_CORPUS job counts every protein exactly once, even when silos die, and stays cheap.
 *
 * The file is cut into batches deterministically (MaxBatchProteins / MaxBatchResidues, greedily, from the
 * start), so batch number b always holds the same records. Consecutive batches are grouped into WRITE WINDOWS.
 * The job's persisted state records how many batches (and records) are COMMITTED, always a whole number of
 * windows, and, before a window's writes start, where that window ENDS (PendingWindowEnd): a resumed job redoes
 * exactly that window first, so every feature sees the same window boundaries on every try. Windows whose writes
 * never started may be cut differently on a later try; nothing has seen them. Everything after the committed
 * point is redone on resume, and each step is idempotent:
 *
 *   1. claim   - per batch, the corpus shard grains store each new protein as a row of the corpus table marked
 *                "JOB:b" (first writer wins: an insert of an existing row fails; see CorpusTable) and return the
 *                ids batch b owns: new ids plus those an earlier try of b already claimed. Ids claimed by anyone
 *                else (an earlier job, an earlier duplicate record) are skipped, so re-indexing a file changes
 *                nothing. Claims run strictly in batch order (even when encoding runs ahead), so the first record
 *                with an id wins, deterministically. A claim costs one table transaction per shard the batch
 *                touches, whatever the corpus size (they used to rewrite a shard's whole grain state).
 *   2. encode  - per batch, the owned sequences go to an inference worker grain, round-robin over the live silos
 *                (a lost silo only costs a retry on another one). PipelineDepth batches encode concurrently, so
 *                with several silos every silo's worker is busy, and encoding never waits for storage.
 *   3. fold    - each encoded batch is folded into the window's AggregationWindow: per active feature its max,
 *                document count and only the candidates that can still be among its top examples or its sample
 *                (both are top-k selections under a total order, so pruning early is exact). Memory: features x
 *                (examples + samples), independent of the corpus and of K.
 *   4. write   - when a window is closed (or the file ends), ONE update for the whole window, tagged (job, last
 *                batch of the window), goes to each feature PAGE grain holding an active feature (256 consecutive
 *                features share a page and one storage blob), plus one to the SAE's statistics grain. This runs
 *                in the background while the next window's batches encode and fold (at most one window is being
 *                written; the next keeps growing until it is done), so storage latency overlaps inference instead
 *                of adding to it. Windows are written strictly in order, so each grain only needs the LAST window
 *                tag it applied per job to skip a replay.
 *   5. commit  - after the window's writes, the job records its last batch as committed.
 *
 * Why windows and pages, not per-batch or per-feature writes: a storage write costs a few ms of CPU on Azurite
 * (more latency on real storage) whatever its size, and a batch touches most features of a small codebook, so
 * per-batch or per-feature writes cost far more than the batch's inference. How long a window should be depends
 * on the model and the codebook (writes scale with the pages that hold a feature that fired, encoding with the
 * residues), so windows ADAPT: the first is WindowBatches
 * long; each later one encodes until the previous window's write time is at most TargetWriteShare of its own
 * encoding time, capped by MaxWindowDuration (progress granularity and work redone after a lost silo) and
 * MaxWindowBatches.
 * Keeping updates in the feature pages' memory and flushing them lazily was the alternative; it needs the job
 * to detect a page activation lost between apply and flush (its in-memory updates gone), which the job-side
 * window avoids: nothing is acknowledged that is not durable.
 *
 * A silo lost between 4 and 5 leaves some pages ahead of the job: the replay of the window (same batches,
 * same owned ids, same tag) skips them and brings the others level. Top examples and samples are
 * order-independent selections (max value then id; smallest hash of the id), max is a max and counts only move
 * once per (job, window), so the final numbers equal a single-process computation over the distinct ids.
 *
 * Resuming: unfinished jobs are listed in the JobRegistryGrain; a watchdog on every silo asks it every few
 * seconds to EnsureRunning them, which reactivates a job whose silo was lost (and any activation resumes
 * its loop in OnActivateAsync). A failure that is the input's fault (unreadable file, invalid sequence)
 * releases the claims of every uncommitted batch, so the corpus never holds a protein whose features were
 * not written, and marks the job FAILED naming the record. A failure while a window is written or committed
 * (storage failing past the transient retries) never fails the job: that window may be held by some pages and
 * not others, and releasing its proteins would let a later job count them twice there. The job is suspended
 * instead (its activation dropped, still RUNNING) and the watchdog resumes it like a lost silo's.
 */
[GenerateSerializer, Alias("esmc.IndexingJobState.v1")]
public sealed class IndexingJobState
{
    [Id(0)] public IndexCorpusRequest? Request { get; set; }
    [Id(1)] public JobStatus Status { get; set; }
    [Id(2)] public int? Total { get; set; }
    [Id(3)] public int CommittedRecords { get; set; }
    [Id(4)] public int CommittedBatches { get; set; }
    [Id(5)] public string? Error { get; set; }
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }
    [Id(7)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(8)] public int NewProteins { get; set; }
    /// <summary>Batches in the first window and the fewest per window, fixed when the job starts (0: a job from before windows).</summary>
    [Id(9)] public int WindowBatches { get; set; }
    /// <summary>The batch number just after the window whose writes started last; a resumed job ends its first window there.</summary>
    [Id(10)] public int PendingWindowEnd { get; set; }
}

/// <summary>A failure caused by the job's input: the job ends FAILED with this message.</summary>
internal sealed class JobInputException(string message) : Exception(message);

public sealed class IndexingJobGrain(
    [PersistentState("job", GrainStorage.Name)] IPersistentState<IndexingJobState> state,
    IOptions<IndexingOptions> options,
    IIndexingJobObserver observer,
    ILogger<IndexingJobGrain> logger) : Grain, IIndexingJobGrain
{
    private static readonly CorpusReadOptions ReadOptions = new() { AllowDuplicateIds = true };

    private CancellationTokenSource? _stop;
    private Task? _loop;
    /// <summary>The write and commit of the last full window, running while the next window is encoded.</summary>
    private Task _pendingWrite = Task.CompletedTask;
    /// <summary>How long the last window's feature writes took (null until this activation wrote one): sizes the next window.</summary>
    private TimeSpan? _lastWriteDuration;
    private int _nextWorker;

    private string JobId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (IsUnfinished) StartLoop();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_stop is null || _loop is null) return;
        await _stop.CancelAsync();
        try { await _loop.WaitAsync(cancellationToken); }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException) { }
    }

    private bool IsUnfinished => state.State.Request is not null && state.State.Status is JobStatus.Queued or JobStatus.Running;

    public Task<JobInfo?> GetInfoAsync() => Task.FromResult(state.State.Request is null ? null : Info());

    public async Task<JobInfo> StartAsync(IndexCorpusRequest request)
    {
        if (state.State.Request is not null) return Info();
        var now = DateTimeOffset.UtcNow;
        state.State = new IndexingJobState
        {
            Request = request, Status = JobStatus.Queued, CreatedAt = now, UpdatedAt = now, WindowBatches = options.Value.WindowBatches,
        };
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IJobRegistryGrain>(0).RegisterAsync(JobId);
        StartLoop();
        return Info();
    }

    public Task EnsureRunningAsync()
    {
        if (IsUnfinished && (_loop is null || _loop.IsCompleted)) StartLoop();
        return Task.CompletedTask;
    }

    private JobInfo Info()
    {
        var s = state.State;
        return new JobInfo(JobId, JobKinds.IndexCorpus, s.Request!.SaeId, s.Status, s.CommittedRecords, s.Total, s.Error, s.CreatedAt, s.UpdatedAt);
    }

    private void StartLoop()
    {
        _stop = new CancellationTokenSource();
        // Started from grain context, so every continuation of the loop runs on this activation's scheduler.
        _loop = RunAsync(_stop.Token);
    }

    private async Task SaveAsync()
    {
        state.State.UpdatedAt = DateTimeOffset.UtcNow;
        await state.WriteStateAsync();
    }

    private sealed record Batch(int Number, IReadOnlyList<IndexedProtein> Proteins);

    private sealed record PreparedBatch(Batch Batch, string[] Owned, IReadOnlyList<(string SequenceId, EncodedSequence Encoded)> Encoded);

    private async Task RunAsync(CancellationToken stop)
    {
        var request = state.State.Request!;
        var claims = new Dictionary<int, string[]>();
        var inFlight = new Queue<Task<PreparedBatch>>();
        try
        {
            var sae = await FindSaeAsync(request.SaeId);
            if (state.State.Status == JobStatus.Queued)
            {
                state.State.Status = JobStatus.Running;
                await SaveAsync();
            }
            if (state.State.Total is null)
            {
                // A first pass counts the records (progress) and rejects a malformed file before anything is stored.
                var total = 0;
                await foreach (var _ in CorpusReader.ReadAsync(request.Path, ReadOptions, stop)) total++;
                state.State.Total = total;
                await SaveAsync();
            }

            var previousClaim = Task.CompletedTask;
            var windowBatches = Math.Max(1, state.State.WindowBatches);
            await using var batches = ReadBatchesAsync(request.Path, stop).GetAsyncEnumerator(stop);
            var more = true;
            Window? window = null;
            while (true)
            {
                while (more && inFlight.Count < options.Value.PipelineDepth)
                {
                    if (!await batches.MoveNextAsync()) { more = false; break; }
                    var claimed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    inFlight.Enqueue(PrepareAsync(batches.Current, sae, previousClaim, claimed, claims, stop));
                    previousClaim = claimed.Task;
                }
                if (inFlight.Count == 0) break;
                var prepared = await inFlight.Dequeue();
                window ??= new Window(new AggregationWindow(sae.CodebookSize, request.TopExamples, options.Value.SampleCapacity));
                window.Add(prepared);
                if (ShouldClose(window, prepared.Batch.Number, windowBatches))
                {
                    await StartWriteAsync(window, sae, claims, stop);
                    window = null;
                }
            }
            if (window is not null) await StartWriteAsync(window, sae, claims, stop);
            await _pendingWrite;
            state.State.Status = JobStatus.Completed;
            await SaveAsync();
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).FinishedAsync(JobId);
            logger.LogInformation("Job {JobId} completed: {Records} records, {New} new proteins in {Sae}", JobId, state.State.CommittedRecords, state.State.NewProteins, request.SaeId);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Deactivating (silo stopping): the committed prefix is persisted; the watchdog resumes the rest elsewhere.
            await QuietlyAsync(_pendingWrite);
        }
        catch (WindowWriteException ex)
        {
            // Left unfinished: the watchdog resumes the job from its committed prefix on a fresh activation, and the
            // pages that hold the failed window skip its replay (design note, "A silo lost between 4 and 5").
            logger.LogError(ex.InnerException, "Job {JobId}: writing a window failed; the job is suspended until the watchdog resumes it", JobId);
            foreach (var task in inFlight) await QuietlyAsync(task);
            DeactivateOnIdle();
        }
        catch (InconsistentStateException ex)
        {
            // Another activation of this job wrote after us (a brief duplicate during membership changes): it owns the job now.
            logger.LogWarning(ex, "Job {JobId} lost ownership of its state; stopping this activation", JobId);
            await QuietlyAsync(_pendingWrite);
            DeactivateOnIdle();
        }
        catch (Exception ex) when (ex is JobInputException or CorpusFormatException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or InvalidSequenceException or UnknownSaeException)
        {
            await FailAsync(ex.Message, inFlight, claims, request);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Job {JobId} failed", JobId);
            await FailAsync($"indexing failed: {ex.GetType().Name}: {ex.Message}", inFlight, claims, request);
        }
    }

    private async Task FailAsync(string error, Queue<Task<PreparedBatch>> inFlight, Dictionary<int, string[]> claims, IndexCorpusRequest request)
    {
        // Let batches already encoding finish claiming and a window being written finish (it saves the job's state,
        // which must not race the save below), then undo every uncommitted claim.
        foreach (var task in inFlight) await QuietlyAsync(task);
        await QuietlyAsync(_pendingWrite);
        if (_pendingWrite.IsFaulted)
        {
            // That window may be held by some pages: suspend rather than release its proteins. The resumed job writes
            // and commits it, meets the same failure again and fails then, with only committed windows behind it.
            logger.LogError(_pendingWrite.Exception?.GetBaseException(), "Job {JobId}: a window write failed while the job was failing ({Error}); suspended until the watchdog resumes it", JobId, error);
            DeactivateOnIdle();
            return;
        }
        foreach (var (number, owned) in claims)
        {
            var batchKey = BatchKey(number);
            await Task.WhenAll(owned.GroupBy(CorpusSharding.ShardOf).Select(g =>
                GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(request.SaeId, g.Key)).ReleaseAsync(batchKey, [.. g])));
        }
        state.State.Status = JobStatus.Failed;
        state.State.Error = error;
        await SaveAsync();
        await GrainFactory.GetGrain<IJobRegistryGrain>(0).FinishedAsync(JobId);
        logger.LogWarning("Job {JobId} failed: {Error}", JobId, error);
    }

    private string BatchKey(int batchNumber) => $"{JobId}:{batchNumber}";

    private async Task<SaeDescriptor> FindSaeAsync(string saeId)
    {
        var catalog = await GrainFactory.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
        return Array.Find(catalog.Saes, s => s.Id == saeId) ?? throw new JobInputException($"Unknown SAE '{saeId}'.");
    }

    private async IAsyncEnumerable<Batch> ReadBatchesAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken stop)
    {
        var skip = state.State.CommittedRecords;
        var number = state.State.CommittedBatches;
        var batch = new List<IndexedProtein>();
        var residues = 0;
        var seen = 0;
        await foreach (var record in CorpusReader.ReadAsync(path, ReadOptions, stop))
        {
            if (seen++ < skip) continue;
            var opts = options.Value;
            if (batch.Count > 0 && (batch.Count >= opts.MaxBatchProteins || residues + record.Sequence.Length > opts.MaxBatchResidues))
            {
                yield return new Batch(number++, batch);
                batch = [];
                residues = 0;
            }
            batch.Add(ToIndexed(record));
            residues += record.Sequence.Length;
        }
        if (batch.Count > 0) yield return new Batch(number, batch);
    }

    private static IndexedProtein ToIndexed(ProteinRecord record) => new(
        record.Id, record.Sequence, record.Description,
        [.. record.Annotations.Select(a => new ProteinAnnotation(a.Type, a.Start, a.End, a.Note))],
        [.. record.Keywords]);

    private async Task<PreparedBatch> PrepareAsync(
        Batch batch, SaeDescriptor sae, Task previousClaim, TaskCompletionSource claimed, Dictionary<int, string[]> claims, CancellationToken stop)
    {
        string[] owned;
        try
        {
            try { await previousClaim; } catch (Exception) { /* the earlier batch's failure is reported by its own task */ }
            var batchKey = BatchKey(batch.Number);
            var ownedSets = await RetryTransientAsync(() => Task.WhenAll(batch.Proteins.GroupBy(p => CorpusSharding.ShardOf(p.Id)).Select(g =>
                GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(sae.Id, g.Key)).ClaimAsync(batchKey, [.. g]))), stop);
            var ownedSet = ownedSets.SelectMany(o => o).ToHashSet(StringComparer.Ordinal);
            // Keep file order (and one entry per id) so encoding and aggregation see a deterministic list.
            owned = batch.Proteins.Select(p => p.Id).Where(ownedSet.Remove).ToArray();
            claims[batch.Number] = owned;
        }
        finally
        {
            claimed.TrySetResult();
        }
        if (owned.Length == 0) return new PreparedBatch(batch, owned, []);

        var byId = batch.Proteins.GroupBy(p => p.Id).ToDictionary(g => g.Key, g => g.First().Sequence, StringComparer.Ordinal);
        var sequences = owned.Select(id => byId[id]).ToArray();
        var encoded = await RetryTransientAsync(async () =>
        {
            var worker = await NextWorkerAsync(sae.Model);
            var outcome = await worker.EncodeAsync(sae.Id, sequences);
            if (outcome.Failure == EncodeFailure.InvalidSequence)
                throw new JobInputException(await NameInvalidRecordAsync(worker, sae.Id, owned, sequences, outcome.Message));
            return outcome.ResultsOrThrow(sae.Id);
        }, stop);
        return new PreparedBatch(batch, owned, owned.Zip(encoded).ToList());
    }

    /// <summary>The encoder refused the batch: find which record(s) so the error names them.</summary>
    private static async Task<string> NameInvalidRecordAsync(IInferenceWorkerGrain worker, string saeId, string[] ids, string[] sequences, string? batchMessage)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            var single = await worker.EncodeAsync(saeId, [sequences[i]]);
            if (single.Failure == EncodeFailure.InvalidSequence) return $"record '{ids[i]}': {single.Message}";
        }
        return batchMessage ?? "invalid sequence";
    }

    private async Task<IInferenceWorkerGrain> NextWorkerAsync(string model)
    {
        var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        var silos = hosts.Keys.OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        var silo = silos.Length == 0 ? GrainContext.Address.SiloAddress! : silos[_nextWorker++ % silos.Length];
        return GrainFactory.GetGrain<IInferenceWorkerGrain>(InferenceWorkerKey.For(silo, model));
    }

    private static async Task QuietlyAsync(Task task)
    {
        try { await task; } catch (Exception) { /* reported where it was awaited first, or irrelevant once stopping */ }
    }

    /// <summary>Consecutive batches whose feature updates are folded together and written (then committed) as one.</summary>
    private sealed class Window(AggregationWindow aggregate)
    {
        private readonly System.Diagnostics.Stopwatch _opened = System.Diagnostics.Stopwatch.StartNew();

        public AggregationWindow Aggregate { get; } = aggregate;
        public List<PreparedBatch> Batches { get; } = [];

        /// <summary>Time since the window's first batch was folded: about the time spent encoding its batches.</summary>
        public TimeSpan Elapsed => _opened.Elapsed;

        public void Add(PreparedBatch prepared)
        {
            Aggregate.Add(prepared.Encoded);
            // Only the numbers and ids are kept: the activations now live in the (bounded) aggregate.
            Batches.Add(prepared with { Encoded = [] });
        }
    }

    /// <summary>
    /// Waits for the previous window's write and commit (windows are written strictly in order: the grains' replay
    /// rule keeps one number per job), then starts this window's in the background so encoding goes on meanwhile.
    /// </summary>
    private async Task StartWriteAsync(Window window, SaeDescriptor sae, Dictionary<int, string[]> claims, CancellationToken stop)
    {
        await _pendingWrite;
        _pendingWrite = WriteAndCommitOrSuspendAsync(window, sae, claims, stop);
    }

    /// <summary>
    /// A window whose write or commit failed (after the transient retries) may be held by some pages and not by
    /// others. Failing the job would release its proteins, and a later job would count them again on the pages that
    /// hold them; so the job is suspended instead, as after a lost silo (<see cref="WindowWriteException"/>).
    /// </summary>
    private async Task WriteAndCommitOrSuspendAsync(Window window, SaeDescriptor sae, Dictionary<int, string[]> claims, CancellationToken stop)
    {
        try
        {
            await WriteAndCommitAsync(window, sae, claims, stop);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            throw new WindowWriteException(ex);
        }
    }

    /// <summary>
    /// Whether the window ends with batch <paramref name="batchNumber"/>: exactly at the recorded end of a window whose
    /// writes an earlier try started; else after at least <paramref name="minBatches"/> batches, once the window has
    /// encoded long enough that the previous window's writes are at most TargetWriteShare of it (or MaxWindowDuration,
    /// or MaxWindowBatches).
    /// </summary>
    private bool ShouldClose(Window window, int batchNumber, int minBatches)
    {
        var pendingEnd = state.State.PendingWindowEnd;
        if (pendingEnd > state.State.CommittedBatches && batchNumber < pendingEnd) return batchNumber + 1 == pendingEnd;
        if (window.Batches.Count < minBatches) return false;
        if (options.Value.MaxWindowBatches > 0 && window.Batches.Count >= options.Value.MaxWindowBatches) return true;
        var share = options.Value.TargetWriteShare;
        if (share <= 0) return true;
        // While the previous window is still being written this one could not start its writes anyway: keep
        // folding batches into it (encoding goes on) rather than wait, and size it once that write time is known.
        if (!_pendingWrite.IsCompleted) return false;
        if (_lastWriteDuration is not { } lastWrite) return true;
        var encoding = window.Elapsed;
        return encoding >= options.Value.MaxWindowDuration || encoding.TotalSeconds * share >= lastWrite.TotalSeconds;
    }

    private async Task WriteAndCommitAsync(Window window, SaeDescriptor sae, Dictionary<int, string[]> claims, CancellationToken stop)
    {
        var last = window.Batches[^1].Batch.Number;
        // Recorded before any feature sees this window, so a resumed job cuts the same window (design note).
        if (state.State.PendingWindowEnd != last + 1)
        {
            state.State.PendingWindowEnd = last + 1;
            await SaveAsync();
        }
        var writing = System.Diagnostics.Stopwatch.StartNew();
        if (!window.Aggregate.IsEmpty)
        {
            var aggregate = window.Aggregate.Build(JobId, last);
            var statistics = GrainFactory.GetGrain<INormalizationStatsGrain>(sae.Id);
            await RetryTransientAsync(async () =>
            {
                // One write per feature page. A bounded number in flight: a 131,072-feature codebook has 512 pages, and
                // sending them all at once queues most in storage long enough to time out (and be re-sent) while the
                // throughput stays what storage gives. The order does not matter (one update each).
                using var slots = new SemaphoreSlim(options.Value.MaxConcurrentPageWrites);
                var writes = aggregate.ByPage().Select(async p =>
                {
                    await slots.WaitAsync(stop);
                    try { await GrainFactory.GetGrain<IFeaturePageGrain>(FeaturePages.Key(sae.Id, p.Page)).ApplyBatchAsync(p.Update); }
                    finally { slots.Release(); }
                }).Append(statistics.ApplyBatchAsync(aggregate.Statistics)).ToList();
                await Task.WhenAll(writes);
                return true;
            }, stop);
        }
        _lastWriteDuration = writing.Elapsed;
        foreach (var prepared in window.Batches) await observer.BatchWrittenAsync(JobId, prepared.Batch.Number, stop);
        state.State.CommittedBatches = last + 1;
        state.State.CommittedRecords += window.Batches.Sum(b => b.Batch.Proteins.Count);
        state.State.NewProteins += window.Batches.Sum(b => b.Owned.Length);
        await SaveAsync();
        foreach (var prepared in window.Batches) claims.Remove(prepared.Batch.Number);
        DelayDeactivation(TimeSpan.FromMinutes(10));
    }

    private async Task<T> RetryTransientAsync<T>(Func<Task<T>> step, CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 0; ; attempt++)
        {
            stop.ThrowIfCancellationRequested();
            try { return await step(); }
            catch (Exception ex) when (IsTransient(ex) && attempt < options.Value.TransientRetries && !stop.IsCancellationRequested)
            {
                logger.LogInformation("Job {JobId}: transient failure ({Error}); retrying", JobId, ex.Message);
                await Task.Delay(delay, stop);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private static bool IsTransient(Exception ex) => ex is SiloUnavailableException or TimeoutException or OverloadedException
        or OrleansMessageRejectionException or InconsistentStateException or ClientNotAvailableException
        // Storage that is briefly unreachable, throttling or failing on its side (Orleans' blob storage rethrows these as they are).
        or Azure.RequestFailedException { Status: 0 or 408 or 429 or >= 500 }
        || (ex is OrleansException && ex is not OrleansConfigurationException);
}

/// <summary>A window's write or commit failed: the job must be resumed (its window replayed), never failed.</summary>
internal sealed class WindowWriteException(Exception inner) : Exception($"Writing an indexing window failed: {inner.Message}", inner);

/// <summary>The unfinished jobs, so that they can be revived after the silo running one is lost.</summary>
[GenerateSerializer, Alias("esmc.JobRegistryState.v1")]
public sealed class JobRegistryState
{
    [Id(0)] public HashSet<string> Unfinished { get; set; } = new(StringComparer.Ordinal);
}

public sealed class JobRegistryGrain(
    [PersistentState("jobs", GrainStorage.Name)] IPersistentState<JobRegistryState> state,
    ILogger<JobRegistryGrain> logger) : Grain, IJobRegistryGrain
{
    public async Task RegisterAsync(string jobId)
    {
        if (state.State.Unfinished.Add(jobId)) await state.WriteStateAsync();
    }

    public async Task FinishedAsync(string jobId)
    {
        if (state.State.Unfinished.Remove(jobId)) await state.WriteStateAsync();
    }

    public async Task<int> ResumeUnfinishedAsync()
    {
        var jobs = state.State.Unfinished.ToArray();
        await Task.WhenAll(jobs.Select(async id =>
        {
            // A job's id prefix names its kind (JobKinds), so one registry and one watchdog serve every kind.
            try
            {
                if (id.StartsWith(JobKinds.IndexCorpusIdPrefix, StringComparison.Ordinal)) await GrainFactory.GetGrain<IIndexingJobGrain>(id).EnsureRunningAsync();
                else if (id.StartsWith(JobKinds.DescribeFeaturesIdPrefix, StringComparison.Ordinal)) await GrainFactory.GetGrain<IDescribeJobGrain>(id).EnsureRunningAsync();
                else if (id.StartsWith(JobKinds.ImportFeatureDatasetIdPrefix, StringComparison.Ordinal)) await GrainFactory.GetGrain<IFeatureImportJobGrain>(id).EnsureRunningAsync();
            }
            catch (Exception ex) { logger.LogInformation("Could not revive job {JobId} yet: {Error}", id, ex.Message); }
        }));
        return jobs.Length;
    }
}
