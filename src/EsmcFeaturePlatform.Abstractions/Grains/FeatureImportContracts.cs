namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>
/// One feature's row of a published feature dataset (Biohub's <c>biohub/ESMC-SAE-Features</c> schema, or this
/// platform's own parquet export), as the importer hands it on. A null field means the file has no such column: an
/// import changes only what its file holds, so re-importing a file that carries fewer columns (an export) keeps the rest.
/// </summary>
[GenerateSerializer, Immutable, Alias("esmc.ImportedFeatureRow.v1")]
public sealed record ImportedFeatureRow(
    [property: Id(0)] int Index,
    [property: Id(1)] string? Summary,
    [property: Id(2)] string? Description,
    [property: Id(3)] string? ActivationPattern,
    [property: Id(4)] string? Category,
    [property: Id(5)] string[]? ExemplarFamilies,
    [property: Id(6)] double? Frequency,
    [property: Id(7)] double? Idf,
    [property: Id(8)] double? MaxActivation,
    [property: Id(9)] double? Threshold,
    [property: Id(10)] string[]? TopUniRefIds,
    [property: Id(11)] string[]? TopSwissProtIds,
    [property: Id(12)] int[]? NearestNeighbors)
{
    /// <summary>The label and text of the description version this row proposes, or null when it has neither column.</summary>
    public (string Label, string Text)? DescriptionVersion()
    {
        var summary = string.IsNullOrWhiteSpace(Summary) ? null : Summary.Trim();
        var text = string.IsNullOrWhiteSpace(Description) ? null : Description.Trim();
        if (summary is null && text is null) return null;
        return (summary ?? LabelFrom(text!), text ?? summary!);
    }

    /// <summary>A label for a row with a description but no summary: its first sentence, at most 80 characters.</summary>
    private static string LabelFrom(string text)
    {
        var end = text.IndexOfAny(['.', '\n', ';']);
        var first = (end > 0 ? text[..end] : text).Trim();
        return first.Length <= 80 ? first : first[..77].TrimEnd() + "...";
    }
}

/// <summary>Where imported data came from: the dataset (repository id), its revision when known, and the file.</summary>
[GenerateSerializer, Alias("esmc.FeatureDatasetProvenance.v1")]
public sealed record FeatureDatasetProvenance(
    [property: Id(0)] string Dataset,
    [property: Id(1)] string? Revision,
    [property: Id(2)] string File)
{
    /// <summary>The provenance as one line for a description's text and for logs.</summary>
    public override string ToString() => $"dataset {Dataset}{(Revision is null ? "" : $", revision {Revision}")}, file {File}";
}

/// <summary>
/// What a feature keeps from a published dataset besides its description: the searchable fields (category, activation
/// pattern, exemplar families), reference examples (UniRef90 and Swiss-Prot ids, linked on the feature page) and the
/// dataset's own nearest neighbours, shown beside the platform's computed ones.
/// </summary>
[GenerateSerializer, Alias("esmc.ImportedFeatureData.v1")]
public sealed record ImportedFeatureData(
    [property: Id(0)] FeatureDatasetProvenance Provenance,
    [property: Id(1)] string? Category,
    [property: Id(2)] string? ActivationPattern,
    [property: Id(3)] string[] ExemplarFamilies,
    [property: Id(4)] double? Threshold,
    [property: Id(5)] string[] TopUniRefIds,
    [property: Id(6)] string[] TopSwissProtIds,
    [property: Id(7)] int[] PublishedNeighbors)
{
    /// <summary>The words search finds the feature by (added to its document's annotation terms).</summary>
    public string[] SearchTerms() =>
        [.. new[] { Category, ActivationPattern }.OfType<string>().Where(t => t.Length > 0), .. ExemplarFamilies.Where(f => f.Length > 0)];

    /// <summary>This data with the columns the row has replaced (absent columns keep their values); provenance only when something changed.</summary>
    public static ImportedFeatureData? Merge(ImportedFeatureData? existing, ImportedFeatureRow row, FeatureDatasetProvenance provenance)
    {
        if (existing is null && row.Category is null && row.ActivationPattern is null && row.ExemplarFamilies is null && row.Threshold is null
            && row.TopUniRefIds is null && row.TopSwissProtIds is null && row.NearestNeighbors is null)
            return null;
        var merged = new ImportedFeatureData(
            provenance,
            row.Category ?? existing?.Category,
            row.ActivationPattern ?? existing?.ActivationPattern,
            row.ExemplarFamilies ?? existing?.ExemplarFamilies ?? [],
            row.Threshold ?? existing?.Threshold,
            row.TopUniRefIds ?? existing?.TopUniRefIds ?? [],
            row.TopSwissProtIds ?? existing?.TopSwissProtIds ?? [],
            row.NearestNeighbors ?? existing?.PublishedNeighbors ?? []);
        return existing is not null && merged.SameContentAs(existing) ? existing : merged;
    }

    /// <summary>Equal fields, provenance aside (records compare arrays by reference, so this compares them by content).</summary>
    public bool SameContentAs(ImportedFeatureData other) =>
        Category == other.Category && ActivationPattern == other.ActivationPattern && Threshold == other.Threshold
        && ExemplarFamilies.SequenceEqual(other.ExemplarFamilies) && TopUniRefIds.SequenceEqual(other.TopUniRefIds)
        && TopSwissProtIds.SequenceEqual(other.TopSwissProtIds) && PublishedNeighbors.SequenceEqual(other.PublishedNeighbors);
}

/// <summary>importFeatureDataset: a parquet file or a folder of them, resolved on the server, into one SAE.</summary>
[GenerateSerializer, Alias("esmc.FeatureImportRequest.v1")]
public sealed record FeatureImportRequest(
    [property: Id(0)] string SaeId,
    [property: Id(1)] string Path,
    [property: Id(2)] int CodebookSize,
    [property: Id(3)] string Dataset,
    [property: Id(4)] string? Revision,
    [property: Id(5)] string RequestedBy);

/// <summary>An IMPORT_FEATURE_DATASET job: reads the files row group by row group, resumably, and writes each feature once.</summary>
[Alias("esmc.IFeatureImportJobGrain")]
public interface IFeatureImportJobGrain : IJobGrain
{
    /// <summary>Starts the import (once: a second call returns the job as it is).</summary>
    [Alias("Start")]
    Task<JobInfo> StartAsync(FeatureImportRequest request);

    /// <summary>Resumes the import if it is unfinished and not running (the watchdog calls this after a lost silo).</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();
}
