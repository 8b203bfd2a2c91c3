namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>
/// The inference worker of one silo for one model: keyed <c>SILO|MODEL</c> (<see cref="GrainKeys.InferenceWorker"/>) and placed on that silo,
/// so a caller chooses which silo computes. It forwards to the silo's <see cref="IFeatureEncoder"/>,
/// which batches concurrent requests itself.
/// </summary>
[Alias("esmc.IInferenceWorkerGrain")]
public interface IInferenceWorkerGrain : IGrainWithStringKey
{
    /// <summary>
    /// A batch waits behind the batches queued before it, and a large model on CPU takes minutes per batch: the default
    /// 30 s response timeout would make an indexing job re-send (and re-encode) batches that are only queued.
    /// </summary>
    [Alias("Encode"), ResponseTimeout("00:15:00")]
    Task<EncodeOutcome> EncodeAsync(string saeId, string[] sequences, CancellationToken cancellationToken = default);
}

/// <summary>What the silos can serve; any silo answers (stateless worker).</summary>
[Alias("esmc.ISaeCatalogGrain")]
public interface ISaeCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every SAE this silo's model root serves, with the encoder's length limit.</summary>
    [Alias("GetCatalog")]
    Task<SaeCatalog> GetCatalogAsync();

    /// <summary>The SAE's own statistics when they are real, else null.</summary>
    [Alias("GetCheckpointStatistics")]
    Task<NormalizationStats?> GetCheckpointStatisticsAsync(string saeId);
}

/// <summary>Raw features of one sequence under one SAE, cached; keyed <c>SAE|SHA256(sequence)</c> (<see cref="GrainKeys.Analysis"/>).</summary>
[Alias("esmc.IAnalysisGrain")]
public interface IAnalysisGrain : IGrainWithStringKey
{
    /// <summary>Canceled with the caller's token (an HTTP client that leaves): the encoding stops if it has not run yet.</summary>
    [Alias("Analyze")]
    Task<EncodeOutcome> AnalyzeAsync(string sequence, CancellationToken cancellationToken = default);
}

/// <summary>One SAE feature, keyed by <see cref="FeatureKey.ToString"/> (<see cref="GrainKeys.Feature"/>).</summary>
[Alias("esmc.IFeatureGrain")]
public interface IFeatureGrain : IGrainWithStringKey
{
    /// <summary>The feature's corpus statistics in brief (max, document count, examples held).</summary>
    [Alias("GetSummary")]
    Task<FeatureSummary> GetSummaryAsync();

    /// <summary>The top examples with their sequences, contracts order.</summary>
    [Alias("GetTopExamples")]
    Task<ActivationExample[]> GetTopExamplesAsync(int first);

    /// <summary>Examples spread over the feature's activation range (for the description agent), highest first.</summary>
    [Alias("GetQuantileSamples")]
    Task<ActivationExample[]> GetQuantileSamplesAsync(int count);

    /// <summary>The description history, oldest first.</summary>
    [Alias("GetDescriptions")]
    Task<DescriptionVersion[]> GetDescriptionsAsync();

    /// <summary>Adds version n+1 (PROPOSED, HUMAN); refused with Conflict when ExpectedVersion differs from the latest.</summary>
    [Alias("ProposeDescription")]
    Task<CurationOutcome> ProposeDescriptionAsync(DescriptionProposal proposal);

    /// <summary>
    /// Approves or rejects a PROPOSED version, recording the reviewer and the time; NotFound for an unknown version,
    /// Conflict when it was already reviewed, SelfApproval when the reviewer proposed it (unless the review allows that).
    /// </summary>
    [Alias("ReviewDescription.v2")]
    Task<CurationOutcome> ReviewDescriptionAsync(DescriptionReview review);

    /// <summary>Stores a describer's output as a PROPOSED version, once per job (a replay returns the stored version).</summary>
    [Alias("AddGeneratedDescription")]
    Task<DescriptionVersion> AddGeneratedDescriptionAsync(GeneratedDescription description);

    /// <summary>Statistics, current description and top example ids in one call (search documents, exports, REST).</summary>
    [Alias("GetSnapshot")]
    Task<FeatureSnapshot> GetSnapshotAsync(int topExampleIds);

    /// <summary>
    /// Applies one row of a published feature dataset: a PROPOSED version with source IMPORTED unless a version with the
    /// same label and text exists, and the row's other columns merged into the imported data. Returns whether anything
    /// changed, so importing the same file again writes nothing.
    /// </summary>
    [Alias("Import")]
    Task<bool> ImportAsync(ImportedFeatureRow row, FeatureDatasetProvenance provenance);

    /// <summary>Searchable fields, reference examples and published neighbours imported for this feature, or null.</summary>
    [Alias("GetImported")]
    Task<ImportedFeatureData?> GetImportedAsync();
}

/// <summary>The corpus statistics and examples of one page of an SAE's features; keyed <see cref="FeaturePages.Key"/>.</summary>
[Alias("esmc.IFeaturePageGrain")]
public interface IFeaturePageGrain : IGrainWithStringKey
{
    /// <summary>Applies a window's updates to the page's features in one write; a replayed window is skipped.</summary>
    [Alias("ApplyBatch")]
    Task ApplyBatchAsync(FeaturePageUpdate update);

    /// <summary>One feature's statistics with its first <paramref name="topExamples"/> top examples, and its sample when asked.</summary>
    /// <remarks>Read-only, so the 256 features of a page can be read concurrently (search sync, exports).</remarks>
    [Alias("Get"), Orleans.Concurrency.ReadOnly]
    Task<FeatureStatistics> GetAsync(int index, int topExamples, bool withSamples);

    /// <summary>
    /// Records that the feature has (or is about to have) a description. Feature grains call it before their first
    /// description write, so the set is a superset of the described features: readers of many features (exports,
    /// search rebuilds) activate only those feature grains.
    /// </summary>
    [Alias("MarkDescribed")]
    Task MarkDescribedAsync(int index);

    /// <summary>
    /// Stores the feature's headline for batch readers (a no-op when the page holds the same one). Feature grains call
    /// it after each change of their descriptions or imported data, and when activated.
    /// </summary>
    [Alias("RecordHeadline")]
    Task RecordHeadlineAsync(int index, FeatureHeadline headline);

    /// <summary>Statistics (no samples) of the given features of this page, in order, which of them are marked described, and their headlines.</summary>
    [Alias("GetPage"), Orleans.Concurrency.ReadOnly]
    Task<FeaturePageSnapshot> GetPageAsync(int[] indices, int topExamples);
}

/// <summary>One shard of an SAE's corpus; keyed <see cref="CorpusSharding.ShardKey"/>.</summary>
[Alias("esmc.ICorpusShardGrain")]
public interface ICorpusShardGrain : IGrainWithStringKey
{
    /// <summary>
    /// First writer wins: stores each protein whose id is new, marked with <paramref name="batchKey"/>, and returns
    /// the ids this batch owns (new ones plus those an earlier try of the same batch stored).
    /// </summary>
    [Alias("Claim")]
    Task<string[]> ClaimAsync(string batchKey, IndexedProtein[] proteins);

    /// <summary>Forgets proteins that <paramref name="batchKey"/> claimed but could not index.</summary>
    [Alias("Release")]
    Task ReleaseAsync(string batchKey, string[] sequenceIds);

    /// <summary>The stored proteins among <paramref name="sequenceIds"/>, in the order given (unknown ids left out).</summary>
    [Alias("Get")]
    Task<IndexedProtein[]> GetAsync(string[] sequenceIds);

    /// <summary>Proteins stored in the shard.</summary>
    [Alias("Count")]
    Task<int> CountAsync();

    /// <summary>Up to <paramref name="count"/> proteins of the shard, a deterministic spread (smallest id hashes first).</summary>
    [Alias("Sample")]
    Task<IndexedProtein[]> SampleAsync(int count);
}

/// <summary>Per SAE: corpus-wide statistics (maintained by indexing), imported normalization statistics, and which source is in effect.</summary>
[Alias("esmc.INormalizationStatsGrain")]
public interface INormalizationStatsGrain : IGrainWithStringKey
{
    /// <summary>Adds a write window's statistics, once per (job, window): a replayed window changes nothing.</summary>
    [Alias("ApplyBatch")]
    Task ApplyBatchAsync(StatisticsBatchUpdate update);

    /// <summary>
    /// Max activation and document count of the given features (0 and null for a feature never active), and the corpus
    /// size: the one stored copy of these numbers, which feature pages join to their answers.
    /// </summary>
    /// <remarks>Read-only, so the concurrent reads of many pages (exports, search sync) interleave.</remarks>
    [Alias("GetCorpusStatistics"), Orleans.Concurrency.ReadOnly]
    Task<CorpusStatistics> GetCorpusStatisticsAsync(int[] indices);

    /// <summary>The statistics an admin imported, or null.</summary>
    [Alias("GetImported")]
    Task<ImportedStatistics?> GetImportedAsync();

    /// <summary>Stores imported statistics (replacing earlier ones); they take effect by the precedence rule.</summary>
    [Alias("Import")]
    Task ImportAsync(ImportedStatistics statistics);

    /// <summary>
    /// The statistics in effect for <paramref name="sae"/> by <see cref="NormalizationPrecedence"/> (the one place the
    /// server asks), with their source; <paramref name="withStatistics"/> false leaves the arrays out (source only).
    /// </summary>
    [Alias("GetInEffect")]
    Task<NormalizationInEffect> GetInEffectAsync(SaeDescriptor sae, bool withStatistics);

    /// <summary>Every source that exists for the SAE, in the default order, for side-by-side comparison.</summary>
    [Alias("GetAvailableSources")]
    Task<NormalizationSourceStatistics[]> GetAvailableSourcesAsync(SaeDescriptor sae);

    /// <summary>
    /// An admin's choice of source (null: back to the default order). A source that does not exist for the SAE is
    /// refused with an <see cref="ArgumentException"/> naming what exists. Returns what is now in effect.
    /// </summary>
    [Alias("ChooseSource")]
    Task<NormalizationInEffect> ChooseSourceAsync(SaeDescriptor sae, NormalizationSource? source);
}

/// <summary>Any job, read by id.</summary>
[Alias("esmc.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Null when no job with this id was ever started.</summary>
    [Alias("GetInfo")]
    Task<JobInfo?> GetInfoAsync();
}

/// <summary>An INDEX_CORPUS job (see the design note on its grain class).</summary>
[Alias("esmc.IIndexingJobGrain")]
public interface IIndexingJobGrain : IJobGrain
{
    /// <summary>Starts the job (once: a second call returns the job as it is).</summary>
    [Alias("Start")]
    Task<JobInfo> StartAsync(IndexCorpusRequest request);

    /// <summary>Activates the job and restarts its loop if it is unfinished (after a lost silo or a restart).</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();

    /// <summary>
    /// Whether a corpus row this job's batch <paramref name="batchNumber"/> claimed is abandoned: the job failed before
    /// committing that batch, or has no state. Another job may then take the row over.
    /// </summary>
    [Alias("IsClaimAbandoned")]
    Task<bool> IsClaimAbandonedAsync(int batchNumber);
}

/// <summary>
/// The full list of records one indexing job skipped (keyed by the job id), appended once per committed write window
/// (tagged by its last batch, so a replayed window adds nothing) and read in pages.
/// </summary>
[Alias("esmc.ISkippedRecordsGrain")]
public interface ISkippedRecordsGrain : IGrainWithStringKey
{
    /// <summary>Appends a committed window's skipped records; a window already appended (by its last batch) adds nothing.</summary>
    [Alias("Append")]
    Task AppendAsync(int windowLastBatch, SkippedRecord[] records);

    /// <summary>Up to <paramref name="count"/> skipped records from <paramref name="offset"/>, in file order.</summary>
    [Alias("GetPage")]
    Task<SkippedRecordPage> GetPageAsync(int offset, int count);
}

/// <summary>The list of unfinished jobs, so a watchdog on every silo can revive those whose silo was lost.</summary>
[Alias("esmc.IJobRegistryGrain")]
public interface IJobRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>Lists a started job as unfinished.</summary>
    [Alias("Register")]
    Task RegisterAsync(string jobId);

    /// <summary>Takes a job that completed or failed off the list.</summary>
    [Alias("Finished")]
    Task FinishedAsync(string jobId);

    /// <summary>Asks every listed job to ensure it runs; returns how many were asked.</summary>
    [Alias("ResumeUnfinished")]
    Task<int> ResumeUnfinishedAsync();
}
