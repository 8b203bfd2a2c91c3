namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>Why an encode request was refused; carried as data because custom exception types do not cross silos reliably.</summary>
public enum EncodeFailure
{
    /// <summary>Nothing was refused.</summary>
    None = 0,
    /// <summary>A sequence was refused (<see cref="InvalidSequenceException"/>).</summary>
    InvalidSequence = 1,
    /// <summary>No SAE has the id (<see cref="UnknownSaeException"/>).</summary>
    UnknownSae = 2,
    /// <summary>The inference queue was full (<see cref="OverloadedException"/>).</summary>
    Overloaded = 3,
}

/// <summary>The answer of an inference worker: results in input order, or the reason nothing was computed.</summary>
/// <remarks>Immutable (nobody changes a result after the worker made it), so a call within a silo passes it without a deep copy.</remarks>
[GenerateSerializer, Immutable, Alias("esmc.EncodeOutcome.v1")]
public sealed record EncodeOutcome(
    [property: Id(0)] EncodedSequence[] Results,
    [property: Id(1)] EncodeFailure Failure,
    [property: Id(2)] string? Message)
{
    /// <summary>An outcome with no results, and the reason.</summary>
    public static EncodeOutcome Failed(EncodeFailure failure, string message) => new([], failure, message);

    /// <summary>Turns a refusal back into the exception the <see cref="IFeatureEncoder"/> port documents.</summary>
    public EncodedSequence[] ResultsOrThrow(string saeId) => Failure switch
    {
        EncodeFailure.None => Results,
        EncodeFailure.InvalidSequence => throw new InvalidSequenceException(Message ?? "Invalid sequence."),
        EncodeFailure.UnknownSae => throw new UnknownSaeException(saeId),
        _ => throw new OverloadedException(Message ?? "The inference queue is full; retry later."),
    };
}

/// <summary>The SAEs the silos serve, with their checkpoint statistics when those are real.</summary>
[GenerateSerializer, Alias("esmc.SaeCatalog.v1")]
public sealed record SaeCatalog(
    [property: Id(0)] SaeDescriptor[] Saes,
    [property: Id(1)] LoadProblem[] LoadProblems,
    [property: Id(2)] SequenceLengthLimit? LengthLimit = null);

/// <summary>One annotation of an indexed protein (a UniProt feature-table row), kept for example enrichment.</summary>
[GenerateSerializer, Alias("esmc.ProteinAnnotation.v1")]
public sealed record ProteinAnnotation(
    [property: Id(0)] string Type,
    [property: Id(1)] int Start,
    [property: Id(2)] int End,
    [property: Id(3)] string? Note);

/// <summary>A protein stored in an SAE's corpus so that examples can show it.</summary>
[GenerateSerializer, Alias("esmc.IndexedProtein.v1")]
public sealed record IndexedProtein(
    [property: Id(0)] string Id,
    [property: Id(1)] string Sequence,
    [property: Id(2)] string? Description,
    [property: Id(3)] ProteinAnnotation[] Annotations,
    [property: Id(4)] string[] Keywords);

/// <summary>
/// A feature's activation inside one protein, stored sparsely: a feature fires on few residues, so
/// keeping only those keeps feature state bounded by examples x active residues, not by protein length.
/// </summary>
[GenerateSerializer, Alias("esmc.StoredExample.v1")]
public sealed record StoredExample(
    [property: Id(0)] string SequenceId,
    [property: Id(1)] float MaxValue,
    [property: Id(2)] int Position,
    [property: Id(3)] int Length,
    [property: Id(4)] int[] ActivePositions,
    [property: Id(5)] float[] ActiveValues,
    [property: Id(6)] ulong SampleHash)
{
    /// <summary>Contracts order of examples: max value descending, then sequence id ascending (ordinal).</summary>
    public static int CompareTopOrder(StoredExample a, StoredExample b)
    {
        var byValue = b.MaxValue.CompareTo(a.MaxValue);
        return byValue != 0 ? byValue : string.CompareOrdinal(a.SequenceId, b.SequenceId);
    }

    /// <summary>Order of the uniform sample: smallest hash first (a bottom-k sketch, independent of arrival order).</summary>
    public static int CompareSampleOrder(StoredExample a, StoredExample b)
    {
        var byHash = a.SampleHash.CompareTo(b.SampleHash);
        return byHash != 0 ? byHash : string.CompareOrdinal(a.SequenceId, b.SequenceId);
    }

    /// <summary>The activation at every residue (zeros where the stored example keeps none).</summary>
    public float[] DenseActivations()
    {
        var dense = new float[Length];
        for (var i = 0; i < ActivePositions.Length; i++) dense[ActivePositions[i] - 1] = ActiveValues[i];
        return dense;
    }

    /// <summary>The example as the API shows it, with the protein's <paramref name="sequence"/>.</summary>
    public ActivationExample ToExample(string sequence) => new(SequenceId, MaxValue, Position, sequence, DenseActivations());
}

/// <summary>
/// What one indexing write window contributes to the features of one page (<see cref="FeaturePages"/>).
/// <see cref="JobId"/> + <see cref="BatchNumber"/> (the window's last batch) make it idempotent: a page applies a
/// job's windows in increasing order, each once, and all its features' updates in one storage write. Immutable: the
/// page keeps the candidates it selects (never changing them), so a call within a silo needs no deep copy.
/// </summary>
[GenerateSerializer, Immutable, Alias("esmc.FeaturePageUpdate.v1")]
public sealed record FeaturePageUpdate(
    [property: Id(0)] string JobId,
    [property: Id(1)] int BatchNumber,
    [property: Id(2)] FeatureWindowUpdate[] Features);

/// <summary>One feature's part of a <see cref="FeaturePageUpdate"/>: the window's max, document count and candidates.</summary>
[GenerateSerializer, Immutable, Alias("esmc.FeatureWindowUpdate.v1")]
public sealed record FeatureWindowUpdate(
    [property: Id(0)] int Index,
    [property: Id(1)] float WindowMax,
    [property: Id(2)] int DocumentCountDelta,
    [property: Id(3)] int ExampleCapacity,
    [property: Id(4)] StoredExample[] TopCandidates,
    [property: Id(5)] StoredExample[] SampleCandidates);

/// <summary>
/// One feature's corpus statistics and examples as its page holds them (immutable: examples are shared, never changed): <see cref="TopExamples"/> cut to what the
/// caller asked for (<see cref="ExampleCount"/> is the full number), <see cref="Samples"/> empty unless asked for.
/// </summary>
[GenerateSerializer, Immutable, Alias("esmc.FeatureStatistics.v1")]
public sealed record FeatureStatistics(
    [property: Id(0)] float? MaxActivation,
    [property: Id(1)] int DocumentCount,
    [property: Id(2)] int ExampleCount,
    [property: Id(3)] StoredExample[] TopExamples,
    [property: Id(4)] StoredExample[] Samples);

/// <summary>Several features of one page: statistics in the order asked, and the indices marked described.</summary>
[GenerateSerializer, Immutable, Alias("esmc.FeaturePageSnapshot.v1")]
public sealed record FeaturePageSnapshot(
    [property: Id(0)] FeatureStatistics[] Statistics,
    [property: Id(1)] int[] Described)
{
    /// <summary>
    /// In the order asked, the headline the page holds for each feature (<see cref="FeatureHeadline"/>), null where it
    /// holds none: the feature was never described, or its grain has not been activated since pages began keeping
    /// headlines (then <see cref="Described"/> still names it and its grain is the one to ask).
    /// </summary>
    [Id(2)] public FeatureHeadline?[] Headlines { get; init; } = [];
}

/// <summary>
/// What readers of many features need from a feature grain's state (its current description, how many versions it
/// has, the words imported for it), kept beside the feature's page by the feature grain after every change so that a
/// page of features is read in one call instead of one grain activation per feature. Derived: the history in the
/// feature grain is the record, and the grain writes its headline again whenever it is activated.
/// </summary>
[GenerateSerializer, Immutable, Alias("esmc.FeatureHeadline.v1")]
public sealed record FeatureHeadline(
    [property: Id(0)] DescriptionVersion? Current,
    [property: Id(1)] int VersionCount,
    [property: Id(2)] string[] ImportedTerms)
{
    /// <summary>Same content (arrays compared by element), so an unchanged headline is not written again.</summary>
    public bool SameAs(FeatureHeadline? other) =>
        other is not null && Equals(Current, other.Current) && VersionCount == other.VersionCount && ImportedTerms.AsSpan().SequenceEqual(other.ImportedTerms);
}

/// <summary>
/// Features are grouped in pages of <see cref="Size"/> consecutive indices for their corpus statistics and examples:
/// indexing writes one storage blob per page and window instead of one per feature (which cost more than the
/// inference of a large model on the storage emulator). Descriptions stay in each feature's own grain; the page keeps
/// their headlines (<see cref="FeatureHeadline"/>). Max activation and document count are stored once, in the SAE's
/// statistics grain (<see cref="INormalizationStatsGrain"/>); the page answers them from there.
/// </summary>
public static class FeaturePages
{
    /// <summary>Features per page.</summary>
    public const int Size = 256;

    /// <summary>The page holding feature <paramref name="index"/>.</summary>
    public static int PageOf(int index) => index / Size;

    /// <summary>The page grain's key (<see cref="GrainKeys.FeaturePage"/>).</summary>
    public static string Key(string saeId, int page) => GrainKeys.FeaturePage.Format(saeId, page);

    /// <summary>The key of the page grain holding <paramref name="feature"/>.</summary>
    public static string KeyOf(FeatureKey feature) => Key(feature.SaeId, PageOf(feature.Index));
}

/// <summary>The per-feature numbers as a feature grain holds them (corpus size lives with the SAE's statistics).</summary>
[GenerateSerializer, Alias("esmc.FeatureSummary.v1")]
public sealed record FeatureSummary(
    [property: Id(0)] int Index,
    [property: Id(1)] float? MaxActivation,
    [property: Id(2)] int DocumentCount,
    [property: Id(3)] int ExampleCount);

/// <summary>A write window's contribution to an SAE's corpus-wide statistics, idempotent like <see cref="FeaturePageUpdate"/>.</summary>
[GenerateSerializer, Alias("esmc.StatisticsBatchUpdate.v1")]
public sealed record StatisticsBatchUpdate(
    [property: Id(0)] string JobId,
    [property: Id(1)] int BatchNumber,
    [property: Id(2)] int CodebookSize,
    [property: Id(3)] int CorpusSizeDelta,
    [property: Id(4)] int[] Indices,
    [property: Id(5)] float[] MaxValues,
    [property: Id(6)] int[] DocumentCountDeltas);

/// <summary>Where the statistics used to normalize an SAE's values come from.</summary>
public enum NormalizationSource
{
    /// <summary>No statistics are available (or, as a choice, none was made).</summary>
    None = 0,
    /// <summary>The SAE checkpoint's own <c>max</c> and <c>idf</c> (when they are not placeholders).</summary>
    Checkpoint = 1,
    /// <summary>Statistics an admin imported (e.g. Biohub's UniRef90 statistics).</summary>
    Imported = 2,
    /// <summary>The statistics of the corpus indexed on this platform.</summary>
    Corpus = 3,
}

/// <summary>Corpus statistics of some features, and the corpus size they were computed over.</summary>
[GenerateSerializer, Alias("esmc.CorpusStatistics.v1")]
public sealed record CorpusStatistics(
    [property: Id(0)] int CorpusSize,
    [property: Id(1)] FeatureStats[] Features);

/// <summary>
/// The normalization statistics in effect for an SAE (<see cref="NormalizationPrecedence"/>), and where they come from.
/// <see cref="CorpusSize"/> is the number of proteins the statistics were computed over when the source says (the
/// indexed corpus does; checkpoint statistics do not), <see cref="Chosen"/> the admin's choice (null: default order).
/// </summary>
[GenerateSerializer, Alias("esmc.NormalizationInEffect.v1")]
public sealed record NormalizationInEffect(
    [property: Id(0)] NormalizationSource Source,
    [property: Id(1)] NormalizationStats? Stats,
    [property: Id(2)] int? CorpusSize,
    [property: Id(3)] NormalizationSource? Chosen,
    [property: Id(4)] string Explanation,
    [property: Id(5)] string? ImportedFrom);

/// <summary>One source of normalization statistics that exists for an SAE, for side-by-side comparison.</summary>
[GenerateSerializer, Alias("esmc.NormalizationSourceStatistics.v1")]
public sealed record NormalizationSourceStatistics(
    [property: Id(0)] NormalizationSource Source,
    [property: Id(1)] NormalizationStats Stats,
    [property: Id(2)] int? CorpusSize,
    [property: Id(3)] string? ImportedFrom);

/// <summary>Statistics imported from a file for an SAE (published per-feature max and idf).</summary>
[GenerateSerializer, Alias("esmc.ImportedStatistics.v1")]
public sealed record ImportedStatistics(
    [property: Id(0)] NormalizationStats Stats,
    [property: Id(1)] string SourcePath,
    [property: Id(2)] DateTimeOffset ImportedAt)
{
    /// <summary>Size of the corpus the statistics were computed over, when the source says or implies it (null: unknown).</summary>
    [Id(3)] public long? CorpusSize { get; init; }

    /// <summary>Per feature, the published activation frequency over that corpus (a feature dataset's uniref90_frequency), when imported.</summary>
    [Id(4)] public float[]? Frequency { get; init; }

    /// <summary>Same numbers (max, idf, frequency, corpus size), whatever the source path or time: a re-import that would change nothing.</summary>
    public bool SameNumbersAs(ImportedStatistics? other) =>
        other is not null && other.CorpusSize == CorpusSize
        && other.Stats.Max.AsSpan().SequenceEqual(Stats.Max) && other.Stats.Idf.AsSpan().SequenceEqual(Stats.Idf)
        && (other.Frequency ?? []).AsSpan().SequenceEqual(Frequency ?? []);
}

/// <summary>Where a job stands (docs/contracts.md, section 3.3).</summary>
public enum JobStatus
{
    /// <summary>Accepted, not started yet.</summary>
    Queued = 0,
    /// <summary>Working (or waiting for storage, see <see cref="JobInfo.Waiting"/>).</summary>
    Running = 1,
    /// <summary>Done.</summary>
    Completed = 2,
    /// <summary>Stopped by bad input; <see cref="JobInfo.Error"/> says why.</summary>
    Failed = 3,
}

/// <summary>A job as callers see it (docs/contracts.md, section 3.3).</summary>
[GenerateSerializer, Alias("esmc.JobInfo.v1")]
public sealed record JobInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Kind,
    [property: Id(2)] string SaeId,
    [property: Id(3)] JobStatus Status,
    [property: Id(4)] int Processed,
    [property: Id(5)] int? Total,
    [property: Id(6)] string? Error,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset UpdatedAt,
    // Waiting: why a RUNNING job is not moving now (e.g. "waiting for storage since ...: ..."), else null.
    [property: Id(9)] string? Waiting = null,
    [property: Id(10)] int Skipped = 0,
    [property: Id(11)] SkippedRecord[]? FirstSkipped = null,
    [property: Id(12)] int Screened = 0);

/// <summary>What an indexCorpus call asked for.</summary>
/// <param name="SaeId">The SAE to index into.</param>
/// <param name="Path">The corpus file, resolved through the server's file rule.</param>
/// <param name="TopExamples">Top examples kept per feature.</param>
/// <param name="RequestedBy">The API key name that started the job.</param>
/// <param name="OnInvalidRecord">What to do with a record that cannot be indexed.</param>
/// <param name="OnOverLong">What to do with a protein over the encoder's length limit.</param>
[GenerateSerializer, Alias("esmc.IndexCorpusRequest.v1")]
public sealed record IndexCorpusRequest(
    [property: Id(0)] string SaeId,
    [property: Id(1)] string Path,
    [property: Id(2)] int TopExamples,
    [property: Id(3)] string RequestedBy,
    [property: Id(4)] InvalidRecordPolicy OnInvalidRecord = InvalidRecordPolicy.Skip,
    [property: Id(5)] OverLongPolicy OnOverLong = OverLongPolicy.Skip);

/// <summary>What an indexing job does with a record it cannot index (bad sequence, malformed record, too long).</summary>
public enum InvalidRecordPolicy
{
    /// <summary>Skip it and report it on the job.</summary>
    Skip = 0,
    /// <summary>Fail the job, naming the record.</summary>
    Fail = 1,
}

/// <summary>
/// What an indexing job does with a protein longer than the encoder's limit: skip it (reported), or encode it in
/// overlapping windows whose features are merged per residue (<see cref="LongSequenceWindows"/>; a departure from the
/// reference, which never sees more than the limit at once).
/// </summary>
public enum OverLongPolicy
{
    /// <summary>Skip it and report it on the job.</summary>
    Skip = 0,
    /// <summary>Encode it in overlapping windows (docs/model-math.md, section 7).</summary>
    Window = 1,
}

/// <summary>
/// Why an indexing job skipped a record. Codes are strings so that new reasons (e.g. <c>SCREENED</c> by a biosecurity
/// screen) fit without a contract change: <c>INVALID_RECORD</c> (the file's record is malformed: no id, no sequence,
/// duplicate), <c>INVALID_SEQUENCE</c> (refused by <see cref="ProteinSequenceInput"/>), <c>TOO_LONG</c> (over the
/// encoder's limit with <see cref="OverLongPolicy.Skip"/>), <c>SCREENED</c> (blocked by the biosecurity screening;
/// the message never says what matched).
/// </summary>
public static class SkipReasons
{
    /// <summary>The file's record is malformed.</summary>
    public const string InvalidRecord = "INVALID_RECORD";
    /// <summary>The input rule refused the sequence.</summary>
    public const string InvalidSequence = "INVALID_SEQUENCE";
    /// <summary>Over the encoder's length limit.</summary>
    public const string TooLong = "TOO_LONG";
    /// <summary>Blocked by the biosecurity screening.</summary>
    public const string Screened = "SCREENED";
}

/// <summary>One record an indexing job skipped: its 1-based number in the file, its id when it has one, why.</summary>
[GenerateSerializer, Immutable, Alias("esmc.SkippedRecord.v1")]
public sealed record SkippedRecord(
    [property: Id(0)] int RecordNumber,
    [property: Id(1)] string? SequenceId,
    [property: Id(2)] string Reason,
    [property: Id(3)] string Message);

/// <summary>A page of the records a job skipped, in file order, and how many there are in all.</summary>
[GenerateSerializer, Alias("esmc.SkippedRecordPage.v1")]
public sealed record SkippedRecordPage(
    [property: Id(0)] int TotalCount,
    [property: Id(1)] SkippedRecord[] Records);

/// <summary>Job ids carry their kind as a prefix so a lookup by id alone finds the right grain type.</summary>
public static class JobKinds
{
    /// <summary>The kind of indexCorpus jobs.</summary>
    public const string IndexCorpus = "INDEX_CORPUS";
    /// <summary>The id prefix of indexCorpus jobs.</summary>
    public const string IndexCorpusIdPrefix = "index-";

    /// <summary>A new, unique indexCorpus job id.</summary>
    public static string NewIndexCorpusId() => IndexCorpusIdPrefix + Guid.NewGuid().ToString("N");

    /// <summary>The kind of describeFeatures jobs.</summary>
    public const string DescribeFeatures = "DESCRIBE_FEATURES";
    /// <summary>The id prefix of describeFeatures jobs.</summary>
    public const string DescribeFeaturesIdPrefix = "describe-";

    /// <summary>A new, unique describeFeatures job id.</summary>
    public static string NewDescribeFeaturesId() => DescribeFeaturesIdPrefix + Guid.NewGuid().ToString("N");

    /// <summary>The kind of importFeatureDataset jobs.</summary>
    public const string ImportFeatureDataset = "IMPORT_FEATURE_DATASET";
    /// <summary>The id prefix of importFeatureDataset jobs.</summary>
    public const string ImportFeatureDatasetIdPrefix = "import-";

    /// <summary>A new, unique importFeatureDataset job id.</summary>
    public static string NewImportFeatureDatasetId() => ImportFeatureDatasetIdPrefix + Guid.NewGuid().ToString("N");
}

/// <summary>
/// An SAE's corpus is split over a fixed number of shard grains by a stable hash of the sequence id,
/// so no single grain state grows with the corpus. The count is part of the storage layout: changing it
/// orphans stored proteins.
/// </summary>
public static class CorpusSharding
{
    /// <summary>Shards per SAE (part of the storage layout).</summary>
    public const int ShardCount = 16;

    /// <summary>The shard holding <paramref name="sequenceId"/>.</summary>
    public static int ShardOf(string sequenceId) => (int)(StableHash(sequenceId) % ShardCount);

    /// <summary>The shard grain's key (<see cref="GrainKeys.CorpusShard"/>).</summary>
    public static string ShardKey(string saeId, int shard) => GrainKeys.CorpusShard.Format(saeId, shard);

    /// <summary>FNV-1a 64 over UTF-16 code units: stable across processes and versions, unlike string.GetHashCode.</summary>
    public static ulong StableHash(string value)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in value)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        // A final avalanche (SplitMix64) so hashes of similar ids spread evenly for sampling.
        hash ^= hash >> 30; hash *= 0xbf58476d1ce4e5b9UL;
        hash ^= hash >> 27; hash *= 0x94d049bb133111ebUL;
        hash ^= hash >> 31;
        return hash;
    }
}

/// <summary>Key of the analysis cache grain: SAE and a hash of the sequence content (<see cref="GrainKeys.Analysis"/>).</summary>
public static class AnalysisKeys
{
    /// <summary>The analysis grain's key for <paramref name="sequence"/> under <paramref name="saeId"/>.</summary>
    public static string For(string saeId, string sequence) => GrainKeys.Analysis.Format(saeId, sequence);
}

/// <summary>
/// Storage was unreachable, timed out, throttled or failed on its side (after the storage client's own retries), so a
/// write was not made (or its outcome is unknown) and nothing in memory went ahead of storage: retrying later is safe.
/// API callers see code UNAVAILABLE with <see cref="RetryAfterSeconds"/>.
/// </summary>
[GenerateSerializer, Alias("esmc.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    /// <summary>What callers are told to wait before retrying.</summary>
    public const int DefaultRetryAfterSeconds = 5;

    /// <summary>A storage failure described by <paramref name="message"/>.</summary>
    public StorageUnavailableException(string message) : base(message) { }

    /// <summary>Seconds the caller should wait before retrying.</summary>
    [Id(0)] public int RetryAfterSeconds { get; init; } = DefaultRetryAfterSeconds;
}
