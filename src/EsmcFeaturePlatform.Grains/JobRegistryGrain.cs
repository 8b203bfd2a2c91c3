using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Logging;

namespace EsmcFeaturePlatform.Grains;

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
        if (state.State.Unfinished.Add(jobId)) await state.WriteOrDropAsync(this);
    }

    public async Task FinishedAsync(string jobId)
    {
        if (state.State.Unfinished.Remove(jobId)) await state.WriteOrDropAsync(this);
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
