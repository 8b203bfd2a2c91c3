using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Corpus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

/*
 * Design note: how an INDEX_CORPUS job counts every protein exactly once, even when silos die.
 *
 * The file is cut into batches deterministically (MaxBatchProteins / MaxBatchResidues, greedily, from the
 * start), so batch number b always holds the same records. The job's persisted state records how many
 * batches (and records) are COMMITTED; everything after that point is redone on resume, and each step of
 * a batch is idempotent:
 *
 *   1. claim   - the corpus shard grains store each new protein id marked "JOB:b" (first writer wins) and
 *                return the ids batch b owns: new ids plus those an earlier try of b already claimed. Ids
 *                claimed by anyone else (an earlier job, an earlier duplicate record) are skipped, so
 *                re-indexing a file changes nothing. Claims run strictly in batch order (even when encoding
 *                runs ahead), so the first record with an id wins, deterministically.
 *   2. encode  - the owned sequences go to an inference worker grain, round-robin over the live silos
 *                (a lost silo only costs a retry on another one). Several batches encode ahead (PipelineDepth).
 *   3. write   - the batch is folded into one update per active feature (BatchAggregator) and sent to each
 *                feature grain and to the SAE's statistics grain, tagged (job, b). Writes of batch b finish
 *                before those of b+1 start, so each of those grains only needs the LAST batch number it applied
 *                per job to skip a replay: memory stays bounded by features x examples, never by the corpus.
 *   4. commit  - the job records b as committed.
 *
 * A silo lost between 3 and 4 leaves some features ahead of the job: the replay of b skips them and brings
 * the others level. Top examples and samples are order-independent selections (max value then id; smallest
 * hash of the id), max is a max and counts only move once per (job, batch), so the final numbers equal a
 * single-process computation over the distinct ids.
 *
 * Resuming: unfinished jobs are listed in the JobRegistryGrain; a watchdog on every silo asks it every few
 * seconds to EnsureRunning them, which reactivates a job whose silo was lost (and any activation resumes
 * its loop in OnActivateAsync). A failure that is the input's fault (unreadable file, invalid sequence)
 * releases the claims of every uncommitted batch, so the corpus never holds a protein whose features were
 * not written, and marks the job FAILED naming the record.
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
        state.State = new IndexingJobState { Request = request, Status = JobStatus.Queued, CreatedAt = now, UpdatedAt = now };
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
            await using var batches = ReadBatchesAsync(request.Path, stop).GetAsyncEnumerator(stop);
            var more = true;
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
                await WriteFeaturesAsync(prepared, sae, request, stop);
                await observer.BatchWrittenAsync(JobId, prepared.Batch.Number, stop);
                state.State.CommittedBatches = prepared.Batch.Number + 1;
                state.State.CommittedRecords += prepared.Batch.Proteins.Count;
                state.State.NewProteins += prepared.Owned.Length;
                await SaveAsync();
                claims.Remove(prepared.Batch.Number);
                DelayDeactivation(TimeSpan.FromMinutes(10));
            }
            state.State.Status = JobStatus.Completed;
            await SaveAsync();
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).FinishedAsync(JobId);
            logger.LogInformation("Job {JobId} completed: {Records} records, {New} new proteins in {Sae}", JobId, state.State.CommittedRecords, state.State.NewProteins, request.SaeId);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Deactivating (silo stopping): the committed prefix is persisted; the watchdog resumes the rest elsewhere.
        }
        catch (InconsistentStateException ex)
        {
            // Another activation of this job wrote after us (a brief duplicate during membership changes): it owns the job now.
            logger.LogWarning(ex, "Job {JobId} lost ownership of its state; stopping this activation", JobId);
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
        // Let batches already encoding finish claiming, then undo every uncommitted claim.
        foreach (var task in inFlight)
        {
            try { await task; } catch (Exception) { /* its claim, if any, is in `claims` */ }
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

    private async Task WriteFeaturesAsync(PreparedBatch prepared, SaeDescriptor sae, IndexCorpusRequest request, CancellationToken stop)
    {
        if (prepared.Encoded.Count == 0) return;
        var aggregate = BatchAggregator.Aggregate(JobId, prepared.Batch.Number, sae.CodebookSize, request.TopExamples, options.Value.SampleCapacity, prepared.Encoded);
        var statistics = GrainFactory.GetGrain<INormalizationStatsGrain>(sae.Id);
        await RetryTransientAsync(async () =>
        {
            var writes = aggregate.Features
                .Select(f => GrainFactory.GetGrain<IFeatureGrain>(new FeatureKey(sae.Id, f.Index).ToString()).ApplyBatchAsync(f.Update))
                .Append(statistics.ApplyBatchAsync(aggregate.Statistics));
            await Task.WhenAll(writes);
            return true;
        }, stop);
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
        || (ex is OrleansException && ex is not OrleansConfigurationException);
}

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
        var jobs = state.State.Unfinished.Where(id => id.StartsWith(JobKinds.IndexCorpusIdPrefix, StringComparison.Ordinal)).ToArray();
        await Task.WhenAll(jobs.Select(async id =>
        {
            try { await GrainFactory.GetGrain<IIndexingJobGrain>(id).EnsureRunningAsync(); }
            catch (Exception ex) { logger.LogInformation("Could not revive job {JobId} yet: {Error}", id, ex.Message); }
        }));
        return jobs.Length;
    }
}
