using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.DescribeJobState.v1")]
public sealed class DescribeJobState : IJobState
{
    public bool IsStarted => Request is not null;

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
/// describer failures are counted and kept on the job, never stored as descriptions. Its lifecycle (resuming, waiting
/// for storage with the status saying so, failing) is every job's (<see cref="JobGrain{TState}"/>).
/// </summary>
public sealed class DescribeJobGrain(
    [PersistentState("describe", GrainStorage.Name)] IPersistentState<DescribeJobState> state,
    IOptions<DescribeOptions> options,
    IOptions<IndexingOptions> jobOptions,
    IServiceProvider services,
    ILogger<DescribeJobGrain> logger) : JobGrain<DescribeJobState>(state, jobOptions, logger), IDescribeJobGrain
{
    /// <summary>Features of the chunk in progress already described (shown in Job.processed before the chunk is saved).</summary>
    private int _chunkDone;
    private EnrichmentFamily? _family;

    protected override string Activity => "describing";

    public Task<string[]> GetFailuresAsync() => Task.FromResult(Job.State.Failures.ToArray());

    public Task<JobInfo> StartAsync(DescribeFeaturesRequest request) =>
        StartJobAsync(() => new DescribeJobState { Request = request, Total = request.Indices?.Length ?? request.CodebookSize });

    protected override JobInfo Info()
    {
        var s = Job.State;
        return new JobInfo(JobId, JobKinds.DescribeFeatures, s.Request!.SaeId, s.Status, s.Processed, s.Total, s.Error ?? FailureSummary(), s.CreatedAt, s.UpdatedAt);
    }

    protected override JobInfo Shown(JobInfo saved) => saved.Status == JobStatus.Running ? saved with { Processed = saved.Processed + _chunkDone } : saved;

    /// <summary>Per-feature failures surface through Job.error even when the job as a whole completed.</summary>
    private string? FailureSummary()
    {
        var s = Job.State;
        if (s.Failed == 0) return null;
        return $"{s.Failed} of {s.Total} feature(s) could not be described (nothing stored for them); {s.Described} described, {s.Skipped} skipped (never active). "
            + string.Join("; ", s.Failures.Take(5)) + (s.Failures.Count > 5 ? "; ..." : "");
    }

    /// <summary>The chunk in progress is redone from the re-read state.</summary>
    protected override void ForgetUnsaved() => _chunkDone = 0;

    private sealed record PoolProtein(IndexedProtein Protein, HashSet<int> Active);

    protected override async Task RunAsync(CancellationToken stop)
    {
        var request = Job.State.Request!;
        var describer = services.GetService<IFeatureDescriber>()
            ?? throw new InvalidOperationException("no feature describer is configured in this silo (AddFeatureDescriber)");
        var features = request.Indices ?? [.. Enumerable.Range(0, request.CodebookSize)];
        if (Job.State.Status == JobStatus.Queued || Job.State.Total is null)
        {
            Job.State.Status = JobStatus.Running;
            Job.State.Total = features.Length;
            await SaveAsync();
        }
        var opts = options.Value;
        var pool = await LoadNonActivatingPoolAsync(request.SaeId, opts.NonActivatingPool, stop);
        // The SAE's family of enrichment tests: each feature's tests are corrected against all of them (BH), not alone.
        _family = EnrichmentFamily.FromSorted(await GrainFactory.GetGrain<IEnrichmentFamilyGrain>(request.SaeId)
            .GetSortedPValuesAsync(request.CodebookSize, opts.TopExamples));
        var gate = new SemaphoreSlim(opts.MaxConcurrency);
        while (Job.State.Processed < features.Length)
        {
            var chunk = features.Skip(Job.State.Processed).Take(opts.ChunkSize).ToArray();
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
            var s = Job.State;
            s.Processed += chunk.Length;
            s.Described += described;
            s.Skipped += skipped;
            s.Failed += failed;
            foreach (var f in failures.Take(Math.Max(0, opts.MaxRecordedFailures - s.Failures.Count))) s.Failures.Add(f);
            _chunkDone = 0;
            await SaveAsync();
            DelayDeactivation(TimeSpan.FromMinutes(10));
        }
    }

    protected override void LogCompleted() =>
        Logger.LogInformation("Job {JobId} completed: {Described} described, {Skipped} skipped, {Failed} failed", JobId, Job.State.Described, Job.State.Skipped, Job.State.Failed);

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
            Logger.LogWarning("Job {JobId}: no decoder neighbours for this chunk: {Reason}", JobId, outcome.Message);
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
