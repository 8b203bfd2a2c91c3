namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>A curator's verdict on a PROPOSED description version.</summary>
public enum ReviewDecision
{
    /// <summary>The version becomes the feature's description.</summary>
    Approve = 0,
    /// <summary>The version is refused and kept in the history.</summary>
    Reject = 1,
}

/// <summary>Why a curation write was refused; carried as data (like <see cref="EncodeFailure"/>) because custom exceptions do not cross silos reliably.</summary>
public enum CurationFailure
{
    /// <summary>Nothing was refused.</summary>
    None = 0,
    /// <summary>The expected version is stale, or the version was already reviewed (API code CONFLICT).</summary>
    Conflict = 1,
    /// <summary>No such version (API code NOT_FOUND).</summary>
    NotFound = 2,
    /// <summary>A curator tried to approve their own proposal while that is not allowed (API code FORBIDDEN).</summary>
    SelfApproval = 3,
}

/// <summary>The answer of a curation write: the version written or reviewed, or why nothing was written.</summary>
[GenerateSerializer, Alias("esmc.CurationOutcome.v1")]
public sealed record CurationOutcome(
    [property: Id(0)] DescriptionVersion? Version,
    [property: Id(1)] CurationFailure Failure,
    [property: Id(2)] string? Message)
{
    /// <summary>An outcome that wrote nothing, with the reason.</summary>
    public static CurationOutcome Failed(CurationFailure failure, string message) => new(null, failure, message);
}

/// <summary>A human proposal (proposeDescription). <see cref="ExpectedVersion"/> null = no concurrency check.</summary>
[GenerateSerializer, Alias("esmc.DescriptionProposal.v1")]
public sealed record DescriptionProposal(
    [property: Id(0)] string Label,
    [property: Id(1)] string Text,
    [property: Id(2)] string Author,
    [property: Id(3)] int? ExpectedVersion);

/// <summary>
/// A review (reviewDescription): <see cref="Reviewer"/> is the API key's name. A curator may not approve a version they
/// proposed themselves unless <see cref="AllowSelfApproval"/> (Esmc:Curation:AllowSelfApproval, for single-person
/// deployments); rejecting one's own proposal (withdrawing it) is always allowed.
/// </summary>
[GenerateSerializer, Alias("esmc.DescriptionReview.v1")]
public sealed record DescriptionReview(
    [property: Id(0)] int Version,
    [property: Id(1)] ReviewDecision Decision,
    [property: Id(2)] string? Note,
    [property: Id(3)] string Reviewer,
    [property: Id(4)] bool AllowSelfApproval);

/// <summary>A describer's result to store as a PROPOSED version; <see cref="JobId"/> makes a replayed store a no-op.</summary>
[GenerateSerializer, Alias("esmc.GeneratedDescription.v1")]
public sealed record GeneratedDescription(
    [property: Id(0)] string JobId,
    [property: Id(1)] string Label,
    [property: Id(2)] string Text,
    [property: Id(3)] DescriptionSource Source,
    [property: Id(4)] string Author,
    [property: Id(5)] double? Score);

/// <summary>
/// What search documents, exports and the REST routes need from one feature: its statistics, its current description,
/// and the ids of its top examples (<see cref="IFeatureReader"/> builds it from the feature's page).
/// </summary>
[GenerateSerializer, Alias("esmc.FeatureSnapshot.v1")]
public sealed record FeatureSnapshot(
    [property: Id(0)] int Index,
    [property: Id(1)] float? MaxActivation,
    [property: Id(2)] int DocumentCount,
    [property: Id(3)] DescriptionVersion? Current,
    [property: Id(4)] int VersionCount,
    [property: Id(5)] string[] TopExampleIds,
    [property: Id(6)] float[] TopExampleValues)
{
    /// <summary>Category, activation pattern and exemplar families imported from a published dataset: searchable words.</summary>
    [Id(7)] public string[] ImportedTerms { get; init; } = [];

    /// <summary>Worth a search document: something to find it by (a description, imported terms) or to filter it by (activity).</summary>
    public bool HasContent => Current is not null || DocumentCount > 0 || ImportedTerms.Length > 0;

    /// <summary>A feature's page statistics with its headline (none for a feature that has no version and no imported data).</summary>
    public static FeatureSnapshot From(int index, FeatureStatistics statistics, FeatureHeadline? headline = null) =>
        new(index, statistics.MaxActivation, statistics.DocumentCount, headline?.Current, headline?.VersionCount ?? 0,
            [.. statistics.TopExamples.Select(e => e.SequenceId)], [.. statistics.TopExamples.Select(e => e.MaxValue)])
        { ImportedTerms = headline?.ImportedTerms ?? [] };
}

/// <summary>One feature's entry in an SAE's curation index: the status and source of its latest version.</summary>
[GenerateSerializer, Alias("esmc.CurationEntry.v1")]
public sealed record CurationEntry(
    [property: Id(0)] int Index,
    [property: Id(1)] int LatestVersion,
    [property: Id(2)] DescriptionStatus LatestStatus,
    [property: Id(3)] DescriptionSource LatestSource,
    [property: Id(4)] DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// Every version of the feature still PROPOSED, oldest first (an older proposal stays here after a later version
    /// is reviewed). Null in entries stored before this field existed: then only the latest version, if PROPOSED.
    /// </summary>
    [Id(5)] public int[]? PendingVersions { get; init; }

    /// <summary>The versions awaiting review, also for entries stored before <see cref="PendingVersions"/> existed.</summary>
    public int[] Pending => PendingVersions ?? (LatestStatus == DescriptionStatus.Proposed ? [LatestVersion] : []);
}

/// <summary>One page of an SAE's review queue.</summary>
/// <param name="TotalCount">Features matching the status over the whole SAE.</param>
/// <param name="Entries">This page's features, by feature index.</param>
/// <param name="HasNextPage">Whether features follow this page.</param>
[GenerateSerializer, Alias("esmc.CurationPage.v1")]
public sealed record CurationPage(
    [property: Id(0)] int TotalCount,
    [property: Id(1)] CurationEntry[] Entries,
    [property: Id(2)] bool HasNextPage)
{
    /// <summary>Versions still PROPOSED over every matching feature (a feature may have several); 0 for other statuses.</summary>
    [Id(3)] public int PendingVersionCount { get; init; }
}

/// <summary>
/// Per SAE (keyed by SAE id): the latest version status of every feature that has descriptions, kept by the feature
/// grains after each write, so the review queue is one grain call instead of a scan over every feature.
/// </summary>
[Alias("esmc.ICurationIndexGrain")]
public interface ICurationIndexGrain : IGrainWithStringKey
{
    /// <summary>Records a feature's latest status; an update older (by version) than the stored entry is ignored.</summary>
    [Alias("Update")]
    Task UpdateAsync(CurationEntry entry);

    /// <summary>
    /// By feature index, after index <paramref name="afterIndex"/>: for PROPOSED, features with any version still
    /// PROPOSED (the review queue); for APPROVED and REJECTED, features whose latest version has that status.
    /// </summary>
    [Alias("Page")]
    Task<CurationPage> PageAsync(DescriptionStatus status, DescriptionSource? source, int first, int afterIndex);

    /// <summary>The indices in [<paramref name="from"/>, <paramref name="to"/>) that have an entry (a description version).</summary>
    [Alias("Described"), Orleans.Concurrency.ReadOnly]
    Task<int[]> DescribedAsync(int from, int to);
}

/// <summary>What a describeFeatures call asked for.</summary>
/// <param name="SaeId">The SAE whose features are described.</param>
/// <param name="Indices">The features to describe; null for every feature of the codebook.</param>
/// <param name="CodebookSize">The SAE's number of features (bounds the indices).</param>
/// <param name="RequestedBy">The API key name that started the job.</param>
[GenerateSerializer, Alias("esmc.DescribeFeaturesRequest.v1")]
public sealed record DescribeFeaturesRequest(
    [property: Id(0)] string SaeId,
    [property: Id(1)] int[]? Indices,
    [property: Id(2)] int CodebookSize,
    [property: Id(3)] string RequestedBy);

/// <summary>A DESCRIBE_FEATURES job: runs the IFeatureDescriber of the silo over features, resumably.</summary>
[Alias("esmc.IDescribeJobGrain")]
public interface IDescribeJobGrain : IJobGrain
{
    /// <summary>Starts the job (once: a second call returns the job as it is).</summary>
    [Alias("Start")]
    Task<JobInfo> StartAsync(DescribeFeaturesRequest request);

    /// <summary>Resumes the job if it is unfinished and not running (the watchdog calls this after a lost silo).</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();

    /// <summary>The per-feature failures recorded so far (bounded), "INDEX: reason".</summary>
    [Alias("GetFailures")]
    Task<string[]> GetFailuresAsync();
}
