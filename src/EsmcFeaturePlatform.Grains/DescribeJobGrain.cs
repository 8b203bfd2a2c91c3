using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Section <c>Esmc:Describe</c>: how describeFeatures jobs gather evidence and how many features run at once.</summary>
public sealed class DescribeOptions
{
    public const string SectionName = "Esmc:Describe";

    /// <summary>Features described at the same time (each is one describer call; for an LLM, one conversation).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Features per committed chunk: a resumed job redoes at most one chunk.</summary>
    public int ChunkSize { get; set; } = 16;

    public int TopExamples { get; set; } = 20;

    public int QuantileExamples { get; set; } = 20;

    /// <summary>Corpus proteins encoded once per job to find, per feature, proteins where it is inactive.</summary>
    public int NonActivatingPool { get; set; } = 48;

    /// <summary>Non-activating examples handed to the describer per feature.</summary>
    public int NonActivatingExamples { get; set; } = 20;

    /// <summary>Nearest features by decoder cosine handed to the describer per feature (0: none).</summary>
    public int NearestFeatures { get; set; } = 10;

    /// <summary>Per-feature failure messages kept on the job.</summary>
    public int MaxRecordedFailures { get; set; } = 50;

    public void Validate()
    {
        if (MaxConcurrency < 1) throw new ArgumentException($"{SectionName}:MaxConcurrency must be positive; got {MaxConcurrency}.");
        if (ChunkSize < 1) throw new ArgumentException($"{SectionName}:ChunkSize must be positive; got {ChunkSize}.");
        if (TopExamples < 1 || QuantileExamples < 0 || NonActivatingPool < 0 || NonActivatingExamples < 0 || MaxRecordedFailures < 0 || NearestFeatures < 0)
            throw new ArgumentException($"{SectionName}: example counts must not be negative (TopExamples at least 1).");
    }
}

[GenerateSerializer, Alias("esmc.DescribeJobState.v1")]
public sealed class DescribeJobState
{
    [Id(0)] public DescribeFeaturesRequest? Request { get; set; }
    [Id(1)] public JobStatus Status { get; set; }
    [Id(2)] public int? Total { get; set; }
    [Id(3)] public int Processed { get; set; }
    [Id(4)] public int Described { get; set; }
    [Id(5)] public int Skipped { get; set; }
    [Id(6)] public int Failed { get; set; }
    [Id(7)] public List<string> Failures { get; set; } = [];
    [Id(8)] public string? Error { get; set; }
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    [Id(10)] public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A DESCRIBE_FEATURES job. The feature list is fixed at start; the job walks it in chunks and commits after each,
/// so a job revived after a lost silo (watchdog, like indexing jobs) redoes at most one chunk, and the feature
/// grain stores at most one version per (job, feature), so a redone chunk adds nothing twice. Within a chunk up to
/// MaxConcurrency features are described at once. Features that never fired are skipped (nothing to describe);
/// describer failures are counted and kept on the job, never stored as descriptions.
/// </summary>
public sealed class DescribeJobGrain(
    [PersistentState("describe", GrainStorage.Name)] IPersistentState<DescribeJobState> state,
    IOptions<DescribeOptions> options,
    IServiceProvider services,
    ILogger<DescribeJobGrain> logger) : Grain, IDescribeJobGrain
{
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private int _chunkDone;

    private string JobId => this.GetPrimaryKeyString();

    private bool IsUnfinished => state.State.Request is not null && state.State.Status is JobStatus.Queued or JobStatus.Running;

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

    public Task<JobInfo?> GetInfoAsync() => Task.FromResult(state.State.Request is null ? null : Info());

    public Task<string[]> GetFailuresAsync() => Task.FromResult(state.State.Failures.ToArray());

    public async Task<JobInfo> StartAsync(DescribeFeaturesRequest request)
    {
        if (state.State.Request is not null) return Info();
        var now = DateTimeOffset.UtcNow;
        state.State = new DescribeJobState
        {
            Request = request, Status = JobStatus.Queued, Total = request.Indices?.Length ?? request.CodebookSize, CreatedAt = now, UpdatedAt = now,
        };
        await state.WriteOrDropAsync(this);
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
        var processed = s.Status == JobStatus.Running ? s.Processed + _chunkDone : s.Processed;
        return new JobInfo(JobId, JobKinds.DescribeFeatures, s.Request!.SaeId, s.Status, processed, s.Total, s.Error ?? FailureSummary(), s.CreatedAt, s.UpdatedAt);
    }

    /// <summary>Per-feature failures surface through Job.error even when the job as a whole completed.</summary>
    private string? FailureSummary()
    {
        var s = state.State;
        if (s.Failed == 0) return null;
        return $"{s.Failed} of {s.Total} feature(s) could not be described (nothing stored for them); {s.Described} described, {s.Skipped} skipped (never active). "
            + string.Join("; ", s.Failures.Take(5)) + (s.Failures.Count > 5 ? "; ..." : "");
    }

    private void StartLoop()
    {
        _stop = new CancellationTokenSource();
        _loop = RunAsync(_stop.Token);
    }

    /// <summary>A failed write drops the activation (StorageWrites): the watchdog resumes the job from what storage holds.</summary>
    private async Task SaveAsync()
    {
        state.State.UpdatedAt = DateTimeOffset.UtcNow;
        await state.WriteOrDropAsync(this);
    }

    private EnrichmentFamily? _family;

    private sealed record PoolProtein(IndexedProtein Protein, HashSet<int> Active);

    private async Task RunAsync(CancellationToken stop)
    {
        var request = state.State.Request!;
        try
        {
            var describer = services.GetService<IFeatureDescriber>()
                ?? throw new InvalidOperationException("no feature describer is configured in this silo (AddFeatureDescriber)");
            var features = request.Indices ?? [.. Enumerable.Range(0, request.CodebookSize)];
            if (state.State.Status == JobStatus.Queued || state.State.Total is null)
            {
                state.State.Status = JobStatus.Running;
                state.State.Total = features.Length;
                await SaveAsync();
            }
            var opts = options.Value;
            var pool = await LoadNonActivatingPoolAsync(request.SaeId, opts.NonActivatingPool, stop);
            // The SAE's family of enrichment tests: each feature's tests are corrected against all of them (BH), not alone.
            _family = EnrichmentFamily.FromSorted(await GrainFactory.GetGrain<IEnrichmentFamilyGrain>(request.SaeId)
                .GetSortedPValuesAsync(request.CodebookSize, opts.TopExamples));
            var gate = new SemaphoreSlim(opts.MaxConcurrency);
            while (state.State.Processed < features.Length)
            {
                var chunk = features.Skip(state.State.Processed).Take(opts.ChunkSize).ToArray();
                int described = 0, skipped = 0, failed = 0;
                var failures = new List<string>();
                _chunkDone = 0;
                var neighbours = await NearestFeaturesAsync(request.SaeId, chunk, opts.NearestFeatures);
                // Tasks start on this activation's scheduler, so the counters below are touched by one thread at a time.
                await Task.WhenAll(chunk.Select(async index =>
                {
                    await gate.WaitAsync(stop);
                    try
                    {
                        switch (await DescribeOneAsync(describer, request.SaeId, index, pool, neighbours.GetValueOrDefault(index) ?? [], stop))
                        {
                            case (true, _): described++; break;
                            case (false, null): skipped++; break;
                            case (false, var reason): failed++; failures.Add($"{index}: {reason}"); break;
                        }
                    }
                    finally
                    {
                        _chunkDone++;
                        gate.Release();
                    }
                }));
                var s = state.State;
                s.Processed += chunk.Length;
                s.Described += described;
                s.Skipped += skipped;
                s.Failed += failed;
                foreach (var f in failures.Take(Math.Max(0, opts.MaxRecordedFailures - s.Failures.Count))) s.Failures.Add(f);
                _chunkDone = 0;
                await SaveAsync();
                DelayDeactivation(TimeSpan.FromMinutes(10));
            }
            state.State.Status = JobStatus.Completed;
            await SaveAsync();
            await GrainFactory.GetGrain<IJobRegistryGrain>(0).FinishedAsync(JobId);
            logger.LogInformation("Job {JobId} completed: {Described} described, {Skipped} skipped, {Failed} failed", JobId, state.State.Described, state.State.Skipped, state.State.Failed);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Deactivating: committed chunks are persisted; the watchdog resumes the rest.
        }
        catch (InconsistentStateException ex)
        {
            logger.LogWarning(ex, "Job {JobId} lost ownership of its state; stopping this activation", JobId);
            DeactivateOnIdle();
        }
        catch (Exception ex) when (StorageErrors.IsTransient(ex))
        {
            // Storage away is never a reason to fail: drop the activation (memory may be ahead of storage); the
            // watchdog resumes the job from its last committed chunk once storage answers again.
            logger.LogWarning(ex, "Job {JobId}: waiting for storage; suspended until the watchdog resumes it", JobId);
            DeactivateOnIdle();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Job {JobId} failed", JobId);
            state.State.Status = JobStatus.Failed;
            // The exception's text may hold internal details: the log has it, the job says where to look (issue 15).
            state.State.Error = $"describing failed with an internal error; the server log has the details (job {JobId}).";
            try
            {
                await SaveAsync();
                await GrainFactory.GetGrain<IJobRegistryGrain>(0).FinishedAsync(JobId);
            }
            catch (Exception saveFailure)
            {
                logger.LogWarning(saveFailure, "Job {JobId}: recording the failure failed; the watchdog retries the job", JobId);
            }
        }
    }

    /// <summary>(true, null) described; (false, null) skipped (never active); (false, reason) failed.</summary>
    private async Task<(bool Described, string? Failure)> DescribeOneAsync(IFeatureDescriber describer, string saeId, int index, IReadOnlyList<PoolProtein> pool,
        IReadOnlyList<NeighbourFeature> neighbours, CancellationToken stop)
    {
        var key = new FeatureKey(saeId, index);
        var feature = GrainFactory.GetGrain<IFeatureGrain>(key.ToString());
        var summary = await feature.GetSummaryAsync();
        if (summary.DocumentCount == 0) return (false, null);
        var opts = options.Value;
        var statsTask = GrainFactory.GetGrain<INormalizationStatsGrain>(saeId).GetCorpusStatisticsAsync([index]);
        var topTask = feature.GetTopExamplesAsync(opts.TopExamples);
        var quantileTask = feature.GetQuantileSamplesAsync(opts.QuantileExamples);
        var top = await topTask;
        var quantiles = await quantileTask;
        var stats = (await statsTask).Features.FirstOrDefault();
        var ids = top.Concat(quantiles).Select(e => e.SequenceId).Distinct(StringComparer.Ordinal).ToArray();
        var proteins = (await Task.WhenAll(ids.GroupBy(CorpusSharding.ShardOf).Select(g =>
                GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, g.Key)).GetAsync([.. g]))))
            .SelectMany(p => p).ToDictionary(p => p.Id, StringComparer.Ordinal);
        var nonActivating = pool.Where(p => !p.Active.Contains(index)).Take(opts.NonActivatingExamples)
            .Select(p => Annotate(new ActivationExample(p.Protein.Id, 0, 1, p.Protein.Sequence, new float[p.Protein.Sequence.Length]), p.Protein))
            .ToList();
        var evidence = new FeatureEvidence(key, stats,
            [.. top.Select(e => Annotate(e, proteins.GetValueOrDefault(e.SequenceId)))],
            [.. quantiles.Select(e => Annotate(e, proteins.GetValueOrDefault(e.SequenceId)))],
            nonActivating, neighbours) { EnrichmentFamily = _family };
        DescriptionResult result;
        try
        {
            // Off the grain's thread: evidence analysis is CPU work and an LLM call is long; the continuation comes back here.
            result = await Task.Run(() => describer.DescribeAsync(evidence, stop), stop);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            return (false, $"describer error: {ex.Message}");
        }
        if (result.Output is null) return (false, result.Failure ?? "the describer gave no output");
        await feature.AddGeneratedDescriptionAsync(new GeneratedDescription(JobId, result.Output.Label, result.Output.Description, result.Source, result.Author, result.Score));
        return (true, null);
    }

    /// <summary>
    /// The chunk's decoder neighbours in one call (one pass over W_dec), each with its current label when it has a
    /// description. Neighbours are evidence, not a requirement: if the worker refuses, features go without them.
    /// </summary>
    private async Task<Dictionary<int, NeighbourFeature[]>> NearestFeaturesAsync(string saeId, int[] chunk, int count)
    {
        if (count == 0) return [];
        NeighborOutcome outcome;
        try
        {
            outcome = await GrainFactory.GetGrain<IDecoderNeighborsGrain>(0).NearestAsync(saeId, chunk, count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // E.g. the model failed to load: the job still describes from the examples.
            outcome = NeighborOutcome.Failed(NeighborFailure.Overloaded, ex.Message);
        }
        if (outcome.Failure != NeighborFailure.None)
        {
            logger.LogWarning("Job {JobId}: no decoder neighbours for this chunk: {Reason}", JobId, outcome.Message);
            return [];
        }
        var ids = outcome.Neighbors.SelectMany(n => n).Select(n => n.Index).Distinct().ToArray();
        var histories = await Task.WhenAll(ids.Select(i => GrainFactory.GetGrain<IFeatureGrain>(new FeatureKey(saeId, i).ToString()).GetDescriptionsAsync()));
        var labels = ids.Zip(histories).ToDictionary(p => p.First, p => DescriptionHistory.Current(p.Second)?.Label);
        return chunk.Zip(outcome.Neighbors).ToDictionary(p => p.First,
            p => p.Second.Select(n => new NeighbourFeature(n.Index, n.Cosine, labels[n.Index])).ToArray());
    }

    private static AnnotatedExample Annotate(ActivationExample example, IndexedProtein? protein) => AnnotationEnrichment.Annotate(example, protein);

    /// <summary>
    /// A deterministic spread of corpus proteins, each encoded once per job (through the cached analysis grains), so
    /// "proteins where the feature is inactive" is exact for every feature, not guessed from what is absent in its examples.
    /// </summary>
    private async Task<IReadOnlyList<PoolProtein>> LoadNonActivatingPoolAsync(string saeId, int size, CancellationToken stop)
    {
        if (size == 0) return [];
        var perShard = (size + CorpusSharding.ShardCount - 1) / CorpusSharding.ShardCount;
        var sampled = (await Task.WhenAll(Enumerable.Range(0, CorpusSharding.ShardCount).Select(shard =>
                GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, shard)).SampleAsync(perShard))))
            .SelectMany(p => p).OrderBy(p => CorpusSharding.StableHash(p.Id)).Take(size).ToList();
        var pool = new List<PoolProtein>();
        foreach (var protein in sampled)
        {
            stop.ThrowIfCancellationRequested();
            var outcome = await GrainFactory.GetGrain<IAnalysisGrain>(AnalysisKeys.For(saeId, protein.Sequence)).AnalyzeAsync(protein.Sequence);
            if (outcome.Failure != EncodeFailure.None) continue;   // an overloaded encoder only shrinks the pool
            var active = new HashSet<int>();
            foreach (var residue in outcome.Results[0].Residues)
                foreach (var f in residue) if (f.Value > 0) active.Add(f.Index);
            pool.Add(new PoolProtein(protein, active));
        }
        return pool;
    }
}
