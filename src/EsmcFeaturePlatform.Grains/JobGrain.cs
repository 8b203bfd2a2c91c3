using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

/*
 * Design note: the one lifecycle of a job (indexing, describing, importing).
 *
 * Start stores the job (refused: the activation is dropped and the caller gets StorageUnavailableException) and runs
 * its loop in the grain's context. The loop registers the job with the JobRegistryGrain (idempotent, so a refused
 * registration never loses a started job: the loop retries it), does the job's work from wherever its committed
 * state stands (RunAsync) and records COMPLETED. Every activation of an unfinished job resumes its loop, and the
 * watchdog (JobWatchdog) activates the jobs the registry lists, so a job outlives the silo that ran it.
 *
 * Storage away (and lost silos, full queues: TransientFaults) never fails a job: it WAITS, its status saying
 * "waiting for storage since ...", probes storage by re-reading its own state (memory back to what storage holds,
 * anything unsaved forgotten) and runs again from its committed state. Only a fault of the job's input or an
 * internal error fails it; recording the failure may meet storage trouble too, and then the job waits, resumes, meets
 * the bad input again and fails then. Callers see the job as storage last held it (_saved), never unsaved progress.
 * Deactivation (the silo stopping) cancels the loop; the watchdog resumes the job elsewhere.
 */

/// <summary>
/// The lifecycle every job grain shares (start, resume after a restart, wait for storage, fail, complete); a job
/// grain supplies its work (<see cref="RunAsync"/>), what callers see (<see cref="Info"/>) and how its faults read.
/// </summary>
public abstract class JobGrain<TState>(IPersistentState<TState> state, IOptions<IndexingOptions> options, ILogger logger) : Grain, IJobGrain
    where TState : class, IJobState
{
    private CancellationTokenSource? _stop;
    private Task? _loop;
    /// <summary>The job as storage holds it: what callers see, so nothing unsaved is ever shown.</summary>
    private JobInfo? _saved;
    /// <summary>Why the job is not moving now (shown in its status), or null.</summary>
    private string? _waiting;

    protected IPersistentState<TState> Job => state;

    /// <summary>The job settings (Esmc:Indexing holds them for every kind of job).</summary>
    protected IndexingOptions Settings => options.Value;

    protected ILogger Logger => logger;

    protected string JobId => this.GetPrimaryKeyString();

    /// <summary>"indexing", "describing", ...: how the job's errors begin.</summary>
    protected abstract string Activity { get; }

    /// <summary>Why the job is not moving now, or null (for <see cref="Info"/>).</summary>
    protected string? Waiting => _waiting;

    private bool IsUnfinished => state.State.IsStarted && state.State.Status is JobStatus.Queued or JobStatus.Running;

    /// <summary>The job as callers see it, from its state (called only once the job is started).</summary>
    protected abstract JobInfo Info();

    /// <summary>
    /// The job's work from its committed state on. Returning means done: the lifecycle records COMPLETED. Throwing
    /// suspends (storage away), fails (the input's fault, an internal error) or stops (cancelled) the job.
    /// </summary>
    protected abstract Task RunAsync(CancellationToken stop);

    /// <summary>The message the job fails with when <paramref name="ex"/> is its input's fault, else null.</summary>
    protected virtual string? InputFailure(Exception ex) => null;

    /// <summary>The message the job fails with for an internal error (its text may hold internal details: the log has it).</summary>
    protected virtual string InternalFailure(Exception ex) =>
        $"{Activity} failed with an internal error; the server log has the details (job {JobId}).";

    /// <summary>Whether the job waits for storage (then resumes) rather than failing.</summary>
    protected virtual bool ShouldWait(Exception ex) => TransientFaults.IsTransient(ex);

    protected virtual string WaitingReason(Exception cause, DateTimeOffset since) =>
        $"waiting for storage since {since:u}: {StorageErrors.Describe(cause)}";

    /// <summary>Lets work still in flight end before the job waits, fails or stops (it must not race a save).</summary>
    protected virtual Task SettleAsync() => Task.CompletedTask;

    /// <summary>Undoes what the job did that only its completion would make good (before FAILED is recorded).</summary>
    protected virtual Task UndoUncommittedAsync(CancellationToken stop) => Task.CompletedTask;

    /// <summary>Forgets in-memory progress once the state was re-read after a wait (the loop starts again from it).</summary>
    protected virtual void ForgetUnsaved() { }

    protected virtual void LogCompleted() { }

    /// <summary>What a caller sees of the saved job; a job may add progress it makes between saves.</summary>
    protected virtual JobInfo Shown(JobInfo saved) => saved;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _saved = state.State.IsStarted ? Info() : null;
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

    public Task<JobInfo?> GetInfoAsync() => Task.FromResult(_saved is null ? null : Shown(_saved) with { Waiting = _waiting });

    /// <summary>Activates the job and restarts its loop if it is unfinished (after a lost silo or a restart).</summary>
    public Task EnsureRunningAsync()
    {
        if (IsUnfinished && (_loop is null || _loop.IsCompleted)) StartLoop();
        return Task.CompletedTask;
    }

    /// <summary>Stores a new job (once: a job already started is returned as it is) and starts its loop.</summary>
    protected async Task<JobInfo> StartJobAsync(Func<TState> create)
    {
        if (state.State.IsStarted) return _saved ?? Info();
        var now = DateTimeOffset.UtcNow;
        var created = create();
        created.Status = JobStatus.Queued;
        created.CreatedAt = created.UpdatedAt = now;
        state.State = created;
        // Refused: the activation is dropped (nobody sees a job that storage does not hold) and the caller gets
        // StorageUnavailableException, which the API answers as UNAVAILABLE with a retry hint.
        await state.WriteOrDropAsync(this);
        _saved = Info();
        StartLoop();
        return _saved;
    }

    /// <summary>
    /// Writes the job's state. A failure reaches the loop, which waits for storage and re-reads the state before going
    /// on; until then callers see the job as last saved, never the unsaved state.
    /// </summary>
    protected async Task SaveAsync()
    {
        state.State.UpdatedAt = DateTimeOffset.UtcNow;
        await state.WriteStateAsync();
        _saved = Info();
    }

    /// <summary>Runs <paramref name="step"/>, retrying transient faults with a backoff (Esmc:Indexing:TransientRetries times).</summary>
    protected async Task<T> RetryTransientAsync<T>(Func<Task<T>> step, CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 0; ; attempt++)
        {
            stop.ThrowIfCancellationRequested();
            try { return await step(); }
            catch (Exception ex) when (TransientFaults.IsTransient(ex) && attempt < options.Value.TransientRetries && !stop.IsCancellationRequested)
            {
                logger.LogInformation("Job {JobId}: transient failure ({Error}); retrying", JobId, ex.Message);
                await Task.Delay(delay, stop);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    protected Task RetryTransientAsync(Func<Task> step, CancellationToken stop) =>
        RetryTransientAsync(async () => { await step(); return true; }, stop);

    private void StartLoop()
    {
        _stop = new CancellationTokenSource();
        // The job outlives the request that started it: its spans start their own traces (a job may link to the request).
        var caller = System.Diagnostics.Activity.Current;
        System.Diagnostics.Activity.Current = null;
        // Started from grain context, so every continuation of the loop runs on this activation's scheduler.
        _loop = LoopAsync(_stop.Token);
        System.Diagnostics.Activity.Current = caller;
    }

    private IJobRegistryGrain Registry => GrainFactory.GetGrain<IJobRegistryGrain>(0);

    private async Task LoopAsync(CancellationToken stop)
    {
        Exception? waitFor;
        try
        {
            // Idempotent; here rather than in StartAsync so that a refused registration never loses a started job.
            await RetryTransientAsync(() => Registry.RegisterAsync(JobId), stop);
            await RunAsync(stop);
            state.State.Status = JobStatus.Completed;
            await SaveAsync();
            await RetryTransientAsync(() => Registry.FinishedAsync(JobId), stop);
            LogCompleted();
            return;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Deactivating (silo stopping): the committed state is persisted; the watchdog resumes the rest elsewhere.
            await SettleAsync();
            return;
        }
        catch (InconsistentStateException ex)
        {
            // Another activation of this job wrote after us (a brief duplicate during membership changes): it owns the job now.
            logger.LogWarning(ex, "Job {JobId} lost ownership of its state; stopping this activation", JobId);
            await SettleAsync();
            DeactivateOnIdle();
            return;
        }
        catch (Exception ex) when (InputFailure(ex) is null && ShouldWait(ex))
        {
            waitFor = ex;
        }
        catch (Exception ex)
        {
            var error = InputFailure(ex);
            if (error is null)
            {
                logger.LogError(ex, "Job {JobId} failed", JobId);
                error = InternalFailure(ex);
            }
            try
            {
                await FailAsync(error, stop);
                return;
            }
            catch (Exception saving) when (!stop.IsCancellationRequested)
            {
                // Undoing or saving FAILED met storage trouble: wait, resume, meet the bad input again, fail then.
                waitFor = saving;
            }
            catch (Exception)
            {
                return;   // stopping: the watchdog resumes the job elsewhere, which meets the bad input again
            }
        }
        await WaitForStorageThenResumeAsync(waitFor, stop);
    }

    private async Task FailAsync(string error, CancellationToken stop)
    {
        await SettleAsync();
        await UndoUncommittedAsync(stop);
        state.State.Status = JobStatus.Failed;
        state.State.Error = error;
        await SaveAsync();
        await RetryTransientAsync(() => Registry.FinishedAsync(JobId), stop);
        logger.LogWarning("Job {JobId} failed: {Error}", JobId, error);
    }

    /// <summary>
    /// Storage is away: the job stays RUNNING in this activation with its status saying so, probes storage by
    /// re-reading its own state (memory back to what storage holds) and then runs again from its committed state.
    /// </summary>
    private async Task WaitForStorageThenResumeAsync(Exception cause, CancellationToken stop)
    {
        await SettleAsync();
        _waiting = WaitingReason(cause, DateTimeOffset.UtcNow);
        logger.LogWarning(cause, "Job {JobId}: {Waiting}", JobId, _waiting);
        if (!await state.WaitUntilReadableAsync(logger, JobId, stop)) return;
        _waiting = null;
        _saved = state.State.IsStarted ? Info() : null;
        ForgetUnsaved();
        if (IsUnfinished) _loop = LoopAsync(stop);
    }
}
