using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Corpus.FeatureDatasets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.FeatureImportJobState.v1")]
public sealed class FeatureImportJobState : IJobState
{
    public bool IsStarted => Request is not null;

    [Id(0)] public FeatureImportRequest? Request { get; set; }
    [Id(1)] public JobStatus Status { get; set; }
    [Id(2)] public int? Total { get; set; }
    [Id(3)] public int Processed { get; set; }
    [Id(4)] public string? Error { get; set; }
    [Id(5)] public DateTimeOffset CreatedAt { get; set; }
    [Id(6)] public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>The next file and row group to read: everything before them is committed.</summary>
    [Id(7)] public int FileIndex { get; set; }
    [Id(8)] public int RowGroup { get; set; }
    /// <summary>Statistics gathered so far (per feature), kept with the position so a resumed job does not lose them.</summary>
    [Id(9)] public float[]? Max { get; set; }
    [Id(10)] public float[]? Idf { get; set; }
    [Id(11)] public float[]? Frequency { get; set; }
    [Id(12)] public int Changed { get; set; }
}

/// <summary>
/// An IMPORT_FEATURE_DATASET job: reads a published feature dataset (one parquet file or a folder of them) row group
/// by row group and hands each row to its feature grain, which adds an IMPORTED description version and the imported
/// fields only when they differ from what it holds, so importing the same file again changes nothing. It commits its
/// position after every row group: a job revived after a lost silo (the watchdog, as for the other jobs) redoes at
/// most one row group, which the feature grains then ignore. The UniRef90 maximum, idf and frequency columns become the
/// SAE's imported normalization statistics (the place importNormalizationStats writes), once, at the end.
/// Storage away (or a feature grain that dropped its activation after a failed write) never fails the job: it waits,
/// its status saying "waiting for storage since ...", re-reads its own state (memory back to what storage holds) and
/// resumes from its committed position (JobGrain). Only bad input fails it.
/// </summary>
public sealed class FeatureImportJobGrain(
    [PersistentState("import", GrainStorage.Name)] IPersistentState<FeatureImportJobState> state,
    IOptions<IndexingOptions> options,
    ILogger<FeatureImportJobGrain> logger) : JobGrain<FeatureImportJobState>(state, options, logger), IFeatureImportJobGrain
{
    /// <summary>Feature grains written at once within a row group.</summary>
    private const int Concurrency = 32;

    protected override string Activity => "importing";

    public Task<JobInfo> StartAsync(FeatureImportRequest request) => StartJobAsync(() => new FeatureImportJobState { Request = request });

    protected override JobInfo Info()
    {
        var s = Job.State;
        return new JobInfo(JobId, JobKinds.ImportFeatureDataset, s.Request!.SaeId, s.Status, s.Processed, s.Total, s.Error, s.CreatedAt, s.UpdatedAt);
    }

    /// <summary>Anything but storage trouble is the dataset's fault (a file that is not a feature dataset, a bad column).</summary>
    protected override string? InputFailure(Exception ex) => TransientFaults.IsTransient(ex) ? null : $"importing failed: {ex.Message}";

    protected override async Task RunAsync(CancellationToken stop)
    {
        var request = Job.State.Request!;
        var s = Job.State;
        // File reads are blocking I/O and parsing is CPU work: off the grain's thread, results come back here.
        var files = await Task.Run(() => FeatureDatasetReader.Files(request.Path), stop);
        var readers = new List<FeatureDatasetReader>();
        foreach (var file in files) readers.Add(await Task.Run(() => FeatureDatasetReader.OpenAsync(file, stop), stop));
        if (s.Status == JobStatus.Queued)
        {
            s.Status = JobStatus.Running;
            s.Total = (int)Math.Min(int.MaxValue, readers.Sum(r => r.RowCount));
            await SaveAsync();
        }
        var withStatistics = readers.Any(r => r.Has("uniref90_max_activation") && r.Has("uniref90_idf"));
        if (withStatistics && s.Max is null)
        {
            s.Max = new float[request.CodebookSize];
            s.Idf = new float[request.CodebookSize];
            s.Frequency = readers.Any(r => r.Has("uniref90_frequency")) ? new float[request.CodebookSize] : null;
        }
        var gate = new SemaphoreSlim(Concurrency);
        for (; s.FileIndex < readers.Count; s.FileIndex++, s.RowGroup = 0)
        {
            var reader = readers[s.FileIndex];
            var provenance = new FeatureDatasetProvenance(request.Dataset, request.Revision, Path.GetFileName(files[s.FileIndex]));
            for (; s.RowGroup < reader.RowGroupRows.Count; )
            {
                var group = s.RowGroup;
                var rows = await Task.Run(() => reader.ReadRowGroupAsync(group, request.CodebookSize, stop), stop);
                var changed = 0;
                await Task.WhenAll(rows.Select(async row =>
                {
                    await gate.WaitAsync(stop);
                    try
                    {
                        var feature = GrainFactory.GetGrain<IFeatureGrain>(new FeatureKey(request.SaeId, row.Index).ToString());
                        if (await feature.ImportAsync(row, provenance)) changed++;   // continuations run on this grain's scheduler, one at a time
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
                foreach (var row in rows) Gather(s, row);
                s.Processed += rows.Count;
                s.Changed += changed;
                s.RowGroup++;
                await SaveAsync();
                DelayDeactivation(TimeSpan.FromMinutes(10));
            }
        }
        if (withStatistics) await ImportStatisticsAsync(request, files);
    }

    protected override void LogCompleted()
    {
        var s = Job.State;
        Logger.LogInformation("Job {JobId} imported {Rows} rows of {Path} into {Sae}; {Changed} features changed", JobId, s.Processed, s.Request!.Path, s.Request.SaeId, s.Changed);
    }

    private static void Gather(FeatureImportJobState s, ImportedFeatureRow row)
    {
        if (s.Max is null || s.Idf is null) return;
        if (row.MaxActivation is { } max && max > 0) s.Max[row.Index] = (float)max;
        if (row.Idf is { } idf && idf >= 0) s.Idf[row.Index] = (float)idf;
        if (s.Frequency is not null && row.Frequency is { } frequency) s.Frequency[row.Index] = (float)frequency;
    }

    /// <summary>
    /// The gathered maximum and idf as the SAE's imported statistics, written only when they differ from the ones there,
    /// with the corpus size they imply: idf = ln(N / df), so when the frequency column holds counts (df), N = df * e^idf
    /// (the median over features, which absorbs rounding); a frequency given as a fraction does not determine N.
    /// </summary>
    private async Task ImportStatisticsAsync(FeatureImportRequest request, IReadOnlyList<string> files)
    {
        var s = Job.State;
        var implied = new List<double>();
        if (s.Frequency is not null && s.Frequency.Any(f => f > 1))
            for (var j = 0; j < s.Frequency.Length; j++)
                if (s.Frequency[j] >= 1 && s.Idf![j] > 0) implied.Add(Math.Round(FeatureMath.CorpusSizeImpliedBy(s.Frequency[j], s.Idf[j])));
        implied.Sort();
        long? corpusSize = implied.Count == 0 ? null : (long)implied[implied.Count / 2];
        var source = files.Count == 1 ? files[0] : request.Path;
        var statistics = new ImportedStatistics(new NormalizationStats(s.Max!, s.Idf!), $"{source} ({request.Dataset}{(request.Revision is null ? "" : "@" + request.Revision)})", DateTimeOffset.UtcNow)
        {
            CorpusSize = corpusSize,
            Frequency = s.Frequency,
        };
        var grain = GrainFactory.GetGrain<INormalizationStatsGrain>(request.SaeId);
        if (statistics.SameNumbersAs(await grain.GetImportedAsync())) return;
        await grain.ImportAsync(statistics);
        s.Changed++;
    }
}
