using Orleans.Runtime;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

[GenerateSerializer, Alias("esmc.FeatureState.v1")]
public sealed class FeatureState
{
    // Ids 0-5 held the corpus statistics and examples before they moved to FeaturePageState; never reuse them.
    [Id(6)] public List<DescriptionVersion> Descriptions { get; set; } = [];
    /// <summary>Per describe job, the version it stored: a job resumed after a lost silo re-describes a chunk without adding twice.</summary>
    [Id(7)] public Dictionary<string, int> DescribedByJob { get; set; } = [];
    /// <summary>Fields, reference examples and neighbours imported from a published feature dataset.</summary>
    [Id(8)] public ImportedFeatureData? Imported { get; set; }
}

/// <summary>
/// One SAE feature: its description history (curation, generated descriptions) in its own state, and its corpus
/// statistics and examples read from its feature page (<see cref="FeaturePageGrain"/>), where indexing writes them.
/// </summary>
public sealed class FeatureGrain(
    [PersistentState("feature", GrainStorage.Name)] IPersistentState<FeatureState> state,
    IFeatureChangeNotifier changes) : Grain, IFeatureGrain
{
    private FeatureKey Key => FeatureKey.Parse(this.GetPrimaryKeyString());

    private IFeaturePageGrain Page => GrainFactory.GetGrain<IFeaturePageGrain>(FeaturePages.KeyOf(Key));

    /// <summary>What batch readers see of this feature without activating it (<see cref="FeatureHeadline"/>); null when there is nothing.</summary>
    private FeatureHeadline? Headline() =>
        state.State.Descriptions.Count == 0 && state.State.Imported is null ? null
            : new FeatureHeadline(DescriptionHistory.Current(state.State.Descriptions), state.State.Descriptions.Count, state.State.Imported?.SearchTerms() ?? []);

    /// <summary>
    /// A feature described before pages kept headlines has none there: it writes it now, so readers stop activating it.
    /// The page skips the write when it holds the same headline, so an activation costs one call, not a write.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Headline() is { } headline)
        {
            // Only a shortcut for readers (without it they activate this grain, as before): never a reason to fail.
            try { await Page.RecordHeadlineAsync(Key.Index, headline); }
            catch (Exception) when (!cancellationToken.IsCancellationRequested) { }
        }
        await base.OnActivateAsync(cancellationToken);
    }

    /// <summary>
    /// The page's headline after a change of this grain's state. If the page cannot store it, this activation ends, so
    /// the next one (any call to this feature) writes it again (<see cref="OnActivateAsync"/>) instead of leaving batch
    /// readers with the old one for the life of the activation.
    /// </summary>
    private async Task RecordHeadlineAsync()
    {
        try
        {
            await Page.RecordHeadlineAsync(Key.Index, Headline()!);
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private Task<FeatureStatistics> StatisticsAsync(int topExamples, bool withSamples = false) =>
        Page.GetAsync(Key.Index, topExamples, withSamples);

    public async Task<FeatureSummary> GetSummaryAsync()
    {
        var s = await StatisticsAsync(0);
        return new FeatureSummary(Key.Index, s.MaxActivation, s.DocumentCount, s.ExampleCount);
    }

    public async Task<ActivationExample[]> GetTopExamplesAsync(int first) =>
        await WithSequencesAsync([.. (await StatisticsAsync(first)).TopExamples]);

    public async Task<ActivationExample[]> GetQuantileSamplesAsync(int count)
    {
        var byValue = (await StatisticsAsync(0, withSamples: true)).Samples.ToList();
        byValue.Sort(StoredExample.CompareTopOrder);
        if (count <= 0 || byValue.Count == 0) return [];
        if (byValue.Count <= count) return await WithSequencesAsync(byValue);
        // Evenly spaced ranks from the highest to the lowest activation: the quantiles of the sample.
        var picked = Enumerable.Range(0, count)
            .Select(i => count == 1 ? 0 : (int)Math.Round(i * (byValue.Count - 1) / (double)(count - 1)))
            .Distinct()
            .Select(i => byValue[i])
            .ToList();
        return await WithSequencesAsync(picked);
    }

    public Task<DescriptionVersion[]> GetDescriptionsAsync() => Task.FromResult(state.State.Descriptions.ToArray());

    // Check and write happen inside one grain turn with no await before the check, and the grain is not reentrant,
    // so two concurrent proposals with the same expectedVersion cannot both pass the check.
    public async Task<CurationOutcome> ProposeDescriptionAsync(DescriptionProposal proposal)
    {
        var history = state.State.Descriptions;
        var latest = history.Count == 0 ? 0 : history[^1].Version;
        if (proposal.ExpectedVersion is { } expected && expected != latest)
            return CurationOutcome.Failed(CurationFailure.Conflict,
                $"Feature {Key.Index} of SAE '{Key.SaeId}' is at version {latest}, not the expected version {expected}; nothing was written. Reload and retry.");
        var version = new DescriptionVersion(latest + 1, proposal.Label, proposal.Text, DescriptionStatus.Proposed, DescriptionSource.Human,
            proposal.Author, DateTimeOffset.UtcNow, null, null);
        await AppendAsync(version);
        return new CurationOutcome(version, CurationFailure.None, null);
    }

    public async Task<CurationOutcome> ReviewDescriptionAsync(DescriptionReview review)
    {
        var history = state.State.Descriptions;
        var version = review.Version;
        var at = history.FindIndex(v => v.Version == version);
        if (at < 0)
            return CurationOutcome.Failed(CurationFailure.NotFound,
                $"Feature {Key.Index} of SAE '{Key.SaeId}' has no description version {version} (it has {history.Count}).");
        var target = history[at];
        if (target.Status != DescriptionStatus.Proposed)
            return CurationOutcome.Failed(CurationFailure.Conflict,
                $"Version {version} of feature {Key.Index} was already {target.Status.ToString().ToUpperInvariant()}"
                + (target.Reviewer is null ? "" : $" by '{target.Reviewer}'")
                + (target.ReviewedAt is { } when ? $" at {when.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : "")
                + "; a version is reviewed once. Nothing was changed.");
        if (review.Decision == ReviewDecision.Approve && !review.AllowSelfApproval
            && string.Equals(target.Author, review.Reviewer, StringComparison.Ordinal))
            return CurationOutcome.Failed(CurationFailure.SelfApproval,
                $"Version {version} of feature {Key.Index} was proposed by '{target.Author}', who may not approve it: another curator must review it "
                + "(a single-person deployment can set Esmc:Curation:AllowSelfApproval=true). Nothing was changed.");
        var reviewed = target with
        {
            Status = review.Decision == ReviewDecision.Approve ? DescriptionStatus.Approved : DescriptionStatus.Rejected,
            ReviewNote = review.Note,
            Reviewer = review.Reviewer,
            ReviewedAt = DateTimeOffset.UtcNow,
        };
        history[at] = reviewed;
        await state.WriteOrDropAsync(this);   // a failed write drops the activation: memory never runs ahead of storage
        await AfterDescriptionChangeAsync();
        return new CurationOutcome(reviewed, CurationFailure.None, null);
    }

    public async Task<DescriptionVersion> AddGeneratedDescriptionAsync(GeneratedDescription description)
    {
        var history = state.State.Descriptions;
        if (state.State.DescribedByJob.TryGetValue(description.JobId, out var stored) && history.Find(v => v.Version == stored) is { } existing)
            return existing;
        var version = new DescriptionVersion((history.Count == 0 ? 0 : history[^1].Version) + 1, description.Label, description.Text,
            DescriptionStatus.Proposed, description.Source, description.Author, DateTimeOffset.UtcNow, description.Score, null);
        state.State.DescribedByJob[description.JobId] = version.Version;
        await AppendAsync(version);
        return version;
    }

    private async Task AppendAsync(DescriptionVersion version)
    {
        // Marked in the page before the first version is stored, so the page's set never misses a described feature.
        if (state.State.Descriptions.Count == 0)
            await Page.MarkDescribedAsync(Key.Index);
        state.State.Descriptions.Add(version);
        // With the job's marker (DescribedByJob) in the same write; on failure the activation is dropped (StorageWrites).
        await state.WriteOrDropAsync(this);
        await AfterDescriptionChangeAsync();
    }

    /// <summary>The page's headline, the review queue and search follow the grain's state; all are derived and can be rebuilt from it.</summary>
    private async Task AfterDescriptionChangeAsync()
    {
        await RecordHeadlineAsync();
        var history = state.State.Descriptions;
        var latest = history[^1];
        await GrainFactory.GetGrain<ICurationIndexGrain>(Key.SaeId)
            .UpdateAsync(new CurationEntry(Key.Index, latest.Version, latest.Status, latest.Source, DateTimeOffset.UtcNow)
            {
                PendingVersions = [.. history.Where(v => v.Status == DescriptionStatus.Proposed).Select(v => v.Version)],
            });
        changes.FeatureChanged(Key);
    }

    public async Task<FeatureSnapshot> GetSnapshotAsync(int topExampleIds)
    {
        return FeatureSnapshot.From(Key.Index, await StatisticsAsync(topExampleIds), Headline());
    }

    public Task<ImportedFeatureData?> GetImportedAsync() => Task.FromResult(state.State.Imported);

    public async Task<bool> ImportAsync(ImportedFeatureRow row, FeatureDatasetProvenance provenance)
    {
        var s = state.State;
        var merged = ImportedFeatureData.Merge(s.Imported, row, provenance);
        var dataChanged = !ReferenceEquals(merged, s.Imported);
        DescriptionVersion? added = null;
        // A version equal to one already kept (the same import again, or the re-import of an export) adds nothing.
        if (row.DescriptionVersion() is var (label, text) && !s.Descriptions.Any(v => v.Label == label && v.Text == text))
        {
            added = new DescriptionVersion((s.Descriptions.Count == 0 ? 0 : s.Descriptions[^1].Version) + 1, label, text,
                DescriptionStatus.Proposed, DescriptionSource.Imported, provenance.Dataset, DateTimeOffset.UtcNow, null, null)
            { Provenance = provenance.ToString() };
        }
        if (!dataChanged && added is null) return false;

        // Marked in the page first (like AppendAsync), so exports and rebuilds visit this feature.
        if (s.Descriptions.Count == 0 && s.Imported is null)
            await Page.MarkDescribedAsync(Key.Index);
        s.Imported = merged;
        if (added is not null) s.Descriptions.Add(added);
        // Restoring the fields would keep an ETag storage no longer has when only the answer was lost: drop instead.
        await state.WriteOrDropAsync(this);
        if (added is not null) await AfterDescriptionChangeAsync();
        else
        {
            await RecordHeadlineAsync();
            changes.FeatureChanged(Key);
        }
        return true;
    }

    private async Task<ActivationExample[]> WithSequencesAsync(List<StoredExample> examples)
    {
        if (examples.Count == 0) return [];
        var saeId = Key.SaeId;
        var lookups = examples.GroupBy(e => CorpusSharding.ShardOf(e.SequenceId))
            .Select(g => GrainFactory.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, g.Key))
                .GetAsync(g.Select(e => e.SequenceId).ToArray()));
        var proteins = (await Task.WhenAll(lookups)).SelectMany(p => p).ToDictionary(p => p.Id, StringComparer.Ordinal);
        return examples.Where(e => proteins.ContainsKey(e.SequenceId))
            .Select(e => e.ToExample(proteins[e.SequenceId].Sequence) with { ProteinName = proteins[e.SequenceId].Description }).ToArray();
    }
}
