using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Files;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions.Telemetry;
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
 * Screening (IScreeningPolicy) happens as records are read into batches: a record the policy blocks is never
 * claimed, encoded or aggregated, so the corpus and its statistics are those of the file without it. It counts as
 * processed (with the batch cut after it, so a resumed job skips exactly the same records) and in Job.screened.
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
 *
 * Storage away: claims, encodes and window writes retry transient failures (StorageErrors.IsTransient: refused or
 * reset connections, timeouts, 408/429/5xx and the Azure SDK's aggregate of them) TransientRetries times; past that
 * the job does not fail but WAITS: its activation stays, its status says "waiting for storage since ...", it probes
 * storage by re-reading its own state (which also puts memory back to what storage holds), and then resumes from
 * its committed prefix exactly as after a lost silo. Only the input's fault fails a job. A batch's claim is recorded
 * (every id of the batch) BEFORE it is sent, so a job that fails releases whatever any shard stored for it, even when
 * some shards answered and another did not; and a row claimed by a dead job (failed before committing that batch,
 * or whose state is gone) is taken over by the next job that meets it (CorpusTable.ClaimAsync).
 */
[GenerateSerializer, Alias("esmc.IndexingJobState.v1")]
public sealed class IndexingJobState : IJobState
{
    public bool IsStarted => Request is not null;

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
    /// <summary>Committed records that were skipped (counted in CommittedRecords too), and the first few with their reasons.</summary>
    [Id(11)] public int Skipped { get; set; }
    [Id(12)] public List<SkippedRecord> FirstSkipped { get; set; } = [];

    /// <summary>Of <see cref="Skipped"/>, the records the screening blocked (never claimed or encoded).</summary>
    [Id(13)] public int ScreenedRecords { get; set; }
}

/// <summary>A failure caused by the job's input: the job ends FAILED with this message.</summary>
internal sealed class JobInputException(string message) : Exception(message);

public sealed class IndexingJobGrain(
    [PersistentState("job", GrainStorage.Name)] IPersistentState<IndexingJobState> state,
    IOptions<IndexingOptions> options,
    IIndexingJobObserver observer,
    ServerFileRule files,
    IScreeningPolicy screening,
    ILogger<IndexingJobGrain> logger) : JobGrain<IndexingJobState>(state, options, logger), IIndexingJobGrain
{
    // The file's own limits (Esmc:Corpus); errors never quote it: they reach whoever reads the job.
    private CorpusReadOptions ReadOptions => new()
    {
        AllowDuplicateIds = true,
        MaxLineBytes = files.Options.MaxLineBytes,
        MaxTextBytes = files.Options.MaxDecompressedBytes,
        QuoteContent = false,
    };

    /// <summary>The write and commit of the last full window, running while the next window is encoded.</summary>
    private Task _pendingWrite = Task.CompletedTask;
    /// <summary>How long the last window's feature writes took (null until this activation wrote one): sizes the next window.</summary>
    private TimeSpan? _lastWriteDuration;
    private int _nextWorker;
    /// <summary>Per uncommitted batch, the ids it claimed (released if the job fails).</summary>
    private readonly Dictionary<int, string[]> _claims = [];
    /// <summary>Batches claiming and encoding ahead of the one being folded.</summary>
    private readonly Queue<Task<PreparedBatch>> _inFlight = new();
    /// <summary>The span of the request that started the job (this activation only), linked from each window's span.</summary>
    private System.Diagnostics.ActivityContext _startedBy;

    protected override string Activity => "indexing";

    public Task<bool> IsClaimAbandonedAsync(int batchNumber)
    {
        var s = Job.State;
        // No state: the job never started or its state is gone, so nothing will ever commit or release the row.
        if (s.Request is null) return Task.FromResult(true);
        return Task.FromResult(s.Status == JobStatus.Failed && batchNumber >= s.CommittedBatches);
    }

    public Task<JobInfo> StartAsync(IndexCorpusRequest request)
    {
        if (!Job.State.IsStarted) _startedBy = PlatformTelemetry.CallerContext();
        return StartJobAsync(() => new IndexingJobState { Request = request, WindowBatches = Settings.WindowBatches });
    }

    protected override JobInfo Info()
    {
        var s = Job.State;
        return new JobInfo(JobId, JobKinds.IndexCorpus, s.Request!.SaeId, s.Status, s.CommittedRecords, s.Total, s.Error, s.CreatedAt, s.UpdatedAt,
            Waiting, s.Skipped, [.. s.FirstSkipped], s.ScreenedRecords);
    }

    /// <summary>
    /// Batch <c>Number</c>: the proteins to index and the records skipped among them (both count as the batch's records,
    /// so a resumed job skips the same prefix of the file).
    /// </summary>
    private sealed record Batch(int Number, IReadOnlyList<IndexedProtein> Proteins, IReadOnlyList<SkippedRecord> Skipped)
    {
        public int Records => Proteins.Count + Skipped.Count;
    }

    private sealed record PreparedBatch(Batch Batch, string[] Owned, IReadOnlyList<(string SequenceId, EncodedSequence Encoded)> Encoded);

    protected override async Task RunAsync(CancellationToken stop)
    {
        var request = Job.State.Request!;
        _claims.Clear();
        _inFlight.Clear();
        var (sae, limit) = await FindSaeAsync(request.SaeId);
        var rule = new RecordRule(request, limit);
        if (Job.State.Status == JobStatus.Queued)
        {
            Job.State.Status = JobStatus.Running;
            await SaveAsync();
        }
        if (Job.State.Total is null)
        {
            // A first pass counts the records (progress) and rejects a malformed file before anything is stored.
            var total = 0;
            await foreach (var _ in ReadCorpusAsync(request.Path, ReadOptions with { OnInvalidRecord = _ => total++ }, stop)) total++;
            Job.State.Total = total;
            await SaveAsync();
        }

        var previousClaim = Task.CompletedTask;
        var windowBatches = Math.Max(1, Job.State.WindowBatches);
        await using var batches = ReadBatchesAsync(request.Path, rule, stop).GetAsyncEnumerator(stop);
        var more = true;
        Window? window = null;
        while (true)
        {
            while (more && _inFlight.Count < Settings.PipelineDepth)
            {
                if (!await batches.MoveNextAsync()) { more = false; break; }
                var claimed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _inFlight.Enqueue(PrepareAsync(batches.Current, sae, rule, previousClaim, claimed, stop));
                previousClaim = claimed.Task;
            }
            if (_inFlight.Count == 0) break;
            var prepared = await _inFlight.Dequeue();
            window ??= new Window(new AggregationWindow(sae.CodebookSize, request.TopExamples, Settings.SampleCapacity));
            window.Add(prepared);
            if (ShouldClose(window, prepared.Batch.Number, windowBatches))
            {
                await StartWriteAsync(window, sae, stop);
                window = null;
            }
        }
        if (window is not null) await StartWriteAsync(window, sae, stop);
        await _pendingWrite;
    }

    protected override void LogCompleted()
    {
        var s = Job.State;
        Logger.LogInformation("Job {JobId} completed: {Records} records, {New} new proteins in {Sae}, {Skipped} skipped ({Screened} by the screening)",
            JobId, s.CommittedRecords, s.NewProteins, s.Request!.SaeId, s.Skipped, s.ScreenedRecords);
    }

    protected override string? InputFailure(Exception ex) =>
        ex is JobInputException or CorpusFormatException or ServerFileException or InvalidSequenceException or UnknownSaeException ? ex.Message : null;

    /// <summary>Storage refusing a request for good (e.g. 403) is named by its status only (StorageErrors.Describe).</summary>
    protected override string InternalFailure(Exception ex) => FindStorageRefusal(ex) is { } refusal
        ? $"indexing failed: storage refused a request ({StorageErrors.Describe(refusal)}); the server log has the details (job {JobId})."
        : base.InternalFailure(ex);

    /// <summary>A window held by some pages and not others, or storage away past the retries: never a reason to fail.</summary>
    protected override bool ShouldWait(Exception ex) => ex is WindowWriteException || base.ShouldWait(ex);

    protected override string WaitingReason(Exception cause, DateTimeOffset since)
    {
        var reason = cause is WindowWriteException { InnerException: { } inner } ? inner : cause;
        return TransientFaults.IsTransient(reason)
            ? base.WaitingReason(reason, since)
            : $"resuming after a failed window write since {since:u}: {reason.GetType().Name}: {StorageErrors.Describe(reason)}";
    }

    /// <summary>Batches already encoding finish claiming and a window being written finishes (it saves the job's state).</summary>
    protected override async Task SettleAsync()
    {
        foreach (var task in _inFlight) await QuietlyAsync(task);
        await QuietlyAsync(_pendingWrite);
    }

    /// <summary>Releases every uncommitted claim, so the corpus never holds a protein whose features were not written.</summary>
    protected override async Task UndoUncommittedAsync(CancellationToken stop)
    {
        // The window being written may be held by some pages: suspend rather than release its proteins. The resumed
        // job writes and commits it, meets the same failure again and fails then, with only committed windows behind it.
        if (_pendingWrite.IsFaulted) throw new WindowWriteException(_pendingWrite.Exception!.GetBaseException());
        var request = Job.State.Request!;
        foreach (var (number, ids) in _claims)
        {
            // Every id the batch tried to claim: release deletes only the rows this batch key stored.
            var batchKey = BatchKey(number);
            await RetryTransientAsync(() => Task.WhenAll(ids.GroupBy(CorpusSharding.ShardOf).Select(g =>
                GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(request.SaeId, g.Key)).ReleaseAsync(batchKey, [.. g]))), stop);
        }
    }

    /// <summary>A resumed job replays the window whose writes had started exactly as after a lost silo.</summary>
    protected override void ForgetUnsaved()
    {
        _pendingWrite = Task.CompletedTask;
        _lastWriteDuration = null;
    }

    private static Azure.RequestFailedException? FindStorageRefusal(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
            if (e is Azure.RequestFailedException refusal) return refusal;
        return null;
    }

    private string BatchKey(int batchNumber) => GrainKeys.CorpusClaim.Format(JobId, batchNumber);

    private async Task<(SaeDescriptor Sae, SequenceLengthLimit? Limit)> FindSaeAsync(string saeId)
    {
        var catalog = await GrainFactory.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
        var sae = Array.Find(catalog.Saes, s => s.Id == saeId) ?? throw new JobInputException($"Unknown SAE '{saeId}'.");
        return (sae, catalog.LengthLimit);
    }

    /// <summary>
    /// Which records a job indexes: each record's sequence goes through <see cref="ProteinSequenceInput"/> (the rule every
    /// entry point shares) and the encoder's length limit; a record that fails either, or that the reader found
    /// malformed, is skipped and reported, or fails the job with <see cref="InvalidRecordPolicy.Fail"/>.
    /// </summary>
    private sealed class RecordRule(IndexCorpusRequest request, SequenceLengthLimit? limit)
    {
        public SequenceLengthLimit? Limit => limit;

        /// <summary>Over the limit and to be encoded in windows (<see cref="OverLongPolicy.Window"/>).</summary>
        public bool NeedsWindows(string sequence) => limit is not null && sequence.Length > limit.MaxResidues;

        public SkippedRecord FromReader(int recordNumber, CorpusFormatException problem) =>
            Skip(new SkippedRecord(recordNumber, problem.RecordId, SkipReasons.InvalidRecord, problem.Message));

        /// <summary>The record as a protein to index, or null when it was skipped (then <paramref name="skipped"/> says why).</summary>
        public IndexedProtein? Check(ProteinRecord record, int recordNumber, out SkippedRecord? skipped)
        {
            var id = InputExcerpt.Quote(record.Id, 60);
            var name = $"Record {recordNumber} ({id}) of {Path.GetFileName(request.Path)}";
            skipped = null;
            PreparedSequence prepared;
            try { prepared = ProteinSequenceInput.Prepare(record.Sequence, name); }
            catch (InvalidSequenceException ex)
            {
                skipped = Skip(new SkippedRecord(recordNumber, record.Id, SkipReasons.InvalidSequence, ex.Message));
                return null;
            }
            if (limit is not null && prepared.Residues.Length > limit.MaxResidues && request.OnOverLong == OverLongPolicy.Skip)
            {
                skipped = Skip(new SkippedRecord(recordNumber, record.Id, SkipReasons.TooLong,
                    limit.TooLongMessage(name, prepared.Residues.Length) + " Or index with onOverLong: WINDOW."));
                return null;
            }
            return new IndexedProtein(
                record.Id, prepared.Residues, record.Description,
                [.. record.Annotations.Select(a => new ProteinAnnotation(a.Type, a.Start, a.End, a.Note))],
                [.. record.Keywords]);
        }

        private SkippedRecord Skip(SkippedRecord skipped) =>
            request.OnInvalidRecord == InvalidRecordPolicy.Fail
                ? throw new JobInputException($"{skipped.Message} (onInvalidRecord: FAIL; send SKIP to skip such records and index the rest)")
                : skipped;
    }

    private async IAsyncEnumerable<Batch> ReadBatchesAsync(string path, RecordRule rule, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken stop)
    {
        var skip = Job.State.CommittedRecords;
        var number = Job.State.CommittedBatches;
        var batch = new List<IndexedProtein>();
        var skipped = new List<SkippedRecord>();
        var residues = 0;
        var seen = 0;
        // The reader reports a malformed record (no id, no sequence) here and goes on; it counts as a record of the file.
        var malformed = new List<CorpusFormatException>();
        var opts = Settings;
        await foreach (var record in ReadCorpusAsync(path, ReadOptions with { OnInvalidRecord = malformed.Add }, stop))
        {
            foreach (var problem in malformed)
                if (seen++ >= skip) skipped.Add(rule.FromReader(seen, problem));
            malformed.Clear();
            if (seen++ < skip) continue;
            var protein = rule.Check(record, seen, out var refused);
            // A blocked record is skipped before it is claimed or encoded, so the corpus and its statistics are
            // exactly those of the file without it; it still counts as processed (so a resumed job skips it too).
            if (protein is not null && await IsScreenedAsync(protein, seen, stop))
            {
                refused = new SkippedRecord(seen, record.Id, SkipReasons.Screened, "Blocked by the biosecurity screening (admins: see screeningEvents).");
                protein = null;
            }
            var length = protein?.Sequence.Length ?? 0;
            if (batch.Count + skipped.Count > 0
                && (batch.Count + skipped.Count >= opts.MaxBatchProteins || (batch.Count > 0 && residues + length > opts.MaxBatchResidues)))
            {
                yield return new Batch(number++, batch, skipped);
                batch = [];
                skipped = [];
                residues = 0;
            }
            if (protein is null) skipped.Add(refused!);
            else
            {
                batch.Add(protein);
                residues += length;
            }
        }
        foreach (var problem in malformed)
            if (seen++ >= skip) skipped.Add(rule.FromReader(seen, problem));
        if (batch.Count + skipped.Count > 0) yield return new Batch(number, batch, skipped);
    }

    private async Task<bool> IsScreenedAsync(IndexedProtein protein, int recordNumber, CancellationToken stop)
    {
        var request = Job.State.Request!;
        var verdict = await screening.ScreenSequenceAsync(protein.Sequence,
            new ScreeningRequest(ScreeningEntryPoints.IndexCorpus, new ScreeningCaller(request.RequestedBy, "admin"), $"record '{protein.Id}' (#{recordNumber}) of {Path.GetFileName(request.Path)}"),
            stop);
        return verdict.Blocked;
    }

    /// <summary>The corpus through the server's file rule (roots, regular files, size and read-time limits).</summary>
    private async IAsyncEnumerable<ProteinRecord> ReadCorpusAsync(string path, CorpusReadOptions readOptions, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken stop)
    {
        await using var stream = files.OpenRead(path);
        await foreach (var record in CorpusReader.ReadAsync(stream, Path.GetFileName(path), readOptions, stop))
            yield return record;
    }

    private async Task<PreparedBatch> PrepareAsync(
        Batch batch, SaeDescriptor sae, RecordRule rule, Task previousClaim, TaskCompletionSource claimed, CancellationToken stop)
    {
        string[] owned;
        try
        {
            try { await previousClaim; } catch (Exception) { /* the earlier batch's failure is reported by its own task */ }
            var batchKey = BatchKey(batch.Number);
            // Recorded before any shard is asked: if some shards store their rows and another fails, a failing job
            // still releases them all (release deletes only rows this batch key stored).
            _claims[batch.Number] = [.. batch.Proteins.Select(p => p.Id).Distinct(StringComparer.Ordinal)];
            var ownedSets = await RetryTransientAsync(() => Task.WhenAll(batch.Proteins.GroupBy(p => CorpusSharding.ShardOf(p.Id)).Select(g =>
                GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(sae.Id, g.Key)).ClaimAsync(batchKey, [.. g]))), stop);
            var ownedSet = ownedSets.SelectMany(o => o).ToHashSet(StringComparer.Ordinal);
            // Keep file order (and one entry per id) so encoding and aggregation see a deterministic list.
            owned = batch.Proteins.Select(p => p.Id).Where(ownedSet.Remove).ToArray();
            _claims[batch.Number] = owned;
        }
        finally
        {
            claimed.TrySetResult();
        }
        if (owned.Length == 0) return new PreparedBatch(batch, owned, []);

        var byId = batch.Proteins.GroupBy(p => p.Id).ToDictionary(g => g.Key, g => g.First().Sequence, StringComparer.Ordinal);
        var proteins = owned.Select(id => byId[id]).ToArray();
        // onOverLong: WINDOW (only such proteins are left over the limit): each becomes overlapping windows, merged below.
        var plans = proteins.Select(p => rule.NeedsWindows(p) ? LongSequenceWindows.Plan(p.Length, rule.Limit!.MaxResidues) : null).ToArray();
        var sequences = proteins.Zip(plans).SelectMany(x => x.Second is null ? [x.First] : x.Second.Select(w => x.First.Substring(w.Start, w.Length))).ToArray();
        var encoded = await RetryTransientAsync(async () =>
        {
            var worker = await NextWorkerAsync(sae.Model);
            var outcome = await worker.EncodeAsync(sae.Id, sequences);
            if (outcome.Failure == EncodeFailure.InvalidSequence)
                throw new JobInputException(await NameInvalidRecordAsync(worker, sae.Id, owned, proteins, outcome.Message));
            return outcome.ResultsOrThrow(sae.Id);
        }, stop);
        var results = new List<(string, EncodedSequence)>(owned.Length);
        var next = 0;
        for (var i = 0; i < owned.Length; i++)
        {
            if (plans[i] is not { } windows) { results.Add((owned[i], encoded[next++])); continue; }
            results.Add((owned[i], LongSequenceWindows.Merge(sae.Id, proteins[i].Length, windows, encoded[next..(next + windows.Length)])));
            next += windows.Length;
        }
        return new PreparedBatch(batch, owned, results);
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
        return GrainFactory.GetGrain<IInferenceWorkerGrain>(GrainKeys.InferenceWorker.Format(silo, model));
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
    private async Task StartWriteAsync(Window window, SaeDescriptor sae, CancellationToken stop)
    {
        await _pendingWrite;
        _pendingWrite = WriteAndCommitOrSuspendAsync(window, sae, stop);
    }

    /// <summary>
    /// A window whose write or commit failed (after the transient retries) may be held by some pages and not by
    /// others. Failing the job would release its proteins, and a later job would count them again on the pages that
    /// hold them; so the job is suspended instead, as after a lost silo (<see cref="WindowWriteException"/>).
    /// </summary>
    private async Task WriteAndCommitOrSuspendAsync(Window window, SaeDescriptor sae, CancellationToken stop)
    {
        try
        {
            await WriteAndCommitAsync(window, sae, stop);
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
        var pendingEnd = Job.State.PendingWindowEnd;
        if (pendingEnd > Job.State.CommittedBatches && batchNumber < pendingEnd) return batchNumber + 1 == pendingEnd;
        if (window.Batches.Count < minBatches) return false;
        if (Settings.MaxWindowBatches > 0 && window.Batches.Count >= Settings.MaxWindowBatches) return true;
        var share = Settings.TargetWriteShare;
        if (share <= 0) return true;
        // While the previous window is still being written this one could not start its writes anyway: keep
        // folding batches into it (encoding goes on) rather than wait, and size it once that write time is known.
        if (!_pendingWrite.IsCompleted) return false;
        if (_lastWriteDuration is not { } lastWrite) return true;
        var encoding = window.Elapsed;
        return encoding >= Settings.MaxWindowDuration || encoding.TotalSeconds * share >= lastWrite.TotalSeconds;
    }

    private async Task WriteAndCommitAsync(Window window, SaeDescriptor sae, CancellationToken stop)
    {
        var last = window.Batches[^1].Batch.Number;
        using var span = PlatformTelemetry.StartLinked(PlatformTelemetry.IndexingWindowActivity, [_startedBy])?
            .SetStartTime(DateTime.UtcNow - window.Elapsed).SetTag("esmc.job.id", JobId).SetTag(PlatformTelemetry.SaeTag, sae.Id).SetTag("esmc.batch.last", last);
        try
        {
            await CommitWindowAsync(window, sae, last, stop);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            PlatformTelemetry.MarkFailed(span, e);
            throw;
        }
    }

    private async Task CommitWindowAsync(Window window, SaeDescriptor sae, int last, CancellationToken stop)
    {
        // Recorded before any feature sees this window, so a resumed job cuts the same window (design note).
        if (Job.State.PendingWindowEnd != last + 1)
        {
            Job.State.PendingWindowEnd = last + 1;
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
                using var slots = new SemaphoreSlim(Settings.MaxConcurrentPageWrites);
                var writes = aggregate.ByPage().Select(async p =>
                {
                    await slots.WaitAsync(stop);
                    try { await GrainFactory.GetGrain<IFeaturePageGrain>(FeaturePages.Key(sae.Id, p.Page)).ApplyBatchAsync(p.Update); }
                    finally { slots.Release(); }
                }).Append(statistics.ApplyBatchAsync(aggregate.Statistics)).ToList();
                await Task.WhenAll(writes);
                PlatformTelemetry.IndexingPageWrites.Add(writes.Count - 1, new KeyValuePair<string, object?>(PlatformTelemetry.SaeTag, sae.Id));
                return true;
            }, stop);
        }
        // The window's skipped records join the job's full list before the commit; a replayed window adds nothing (tag).
        var skipped = window.Batches.SelectMany(b => b.Batch.Skipped).ToArray();
        if (skipped.Length > 0)
            await RetryTransientAsync(async () => { await GrainFactory.GetGrain<ISkippedRecordsGrain>(JobId).AppendAsync(last, skipped); return true; }, stop);
        _lastWriteDuration = writing.Elapsed;
        foreach (var prepared in window.Batches) await observer.BatchWrittenAsync(JobId, prepared.Batch.Number, stop);
        Job.State.CommittedBatches = last + 1;
        Job.State.CommittedRecords += window.Batches.Sum(b => b.Batch.Records);
        Job.State.Skipped += skipped.Length;
        Job.State.ScreenedRecords += skipped.Count(s => s.Reason == SkipReasons.Screened);
        Job.State.FirstSkipped.AddRange(skipped.Take(Math.Max(0, Settings.FirstSkippedShown - Job.State.FirstSkipped.Count)));
        Job.State.NewProteins += window.Batches.Sum(b => b.Owned.Length);
        await SaveAsync();
        PlatformTelemetry.RecordIndexingWindow(sae.Id, window.Batches.Sum(b => b.Owned.Length), window.Elapsed);
        foreach (var prepared in window.Batches) _claims.Remove(prepared.Batch.Number);
        DelayDeactivation(TimeSpan.FromMinutes(10));
    }
}

/// <summary>A window's write or commit failed: the job must be resumed (its window replayed), never failed.</summary>
internal sealed class WindowWriteException(Exception inner) : Exception($"Writing an indexing window failed: {inner.Message}", inner);
