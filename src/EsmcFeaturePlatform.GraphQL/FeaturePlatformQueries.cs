using System.Globalization;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>What the resolvers need from the cluster, with input validation that names the bad argument.</summary>
public sealed class FeaturePlatformQueries(IGrainFactory grains, IOptions<ApiOptions> options)
{
    private SaeCatalog? _catalog;
    private readonly Dictionary<string, NormalizationStats?> _checkpointStats = [];

    public ApiOptions Options => options.Value;

    public IGrainFactory Grains => grains;

    public async Task<SaeCatalog> GetCatalogAsync()
    {
        // The model root is fixed for a process's life; an empty catalog is not cached in case silos were still starting.
        if (_catalog is { Saes.Length: > 0 }) return _catalog;
        return _catalog = await grains.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
    }

    public async Task<SaeDescriptor> RequireSaeAsync(string? saeId)
    {
        var catalog = await GetCatalogAsync();
        var sae = Array.Find(catalog.Saes, s => s.Id == saeId);
        if (sae is not null) return sae;
        var known = catalog.Saes.Length == 0 ? "none are loaded" : "known: " + string.Join(", ", catalog.Saes.Select(s => s.Id));
        throw PlatformError.BadInput($"Unknown SAE '{saeId}' (argument 'sae'); {known}.");
    }

    public static void RequireIndex(SaeDescriptor sae, int index, string argument = "index")
    {
        if (index < 0 || index >= sae.CodebookSize)
            throw PlatformError.BadInput($"Feature index {index} (argument '{argument}') is out of range for SAE '{sae.Id}': valid indices are 0..{sae.CodebookSize - 1}.");
    }

    public int RequirePageSize(int first, string argument)
    {
        if (first < 0 || first > Options.MaxPageSize)
            throw PlatformError.BadInput($"Argument '{argument}' must be between 0 and {Options.MaxPageSize}; got {first}.");
        return first;
    }

    public async Task<EncodedSequence> AnalyzeAsync(SaeDescriptor sae, string sequence)
    {
        if (string.IsNullOrEmpty(sequence)) throw PlatformError.BadInput("Argument 'sequence' is empty.");
        var outcome = await grains.GetGrain<IAnalysisGrain>(AnalysisKeys.For(sae.Id, sequence)).AnalyzeAsync(sequence);
        return outcome.Failure switch
        {
            EncodeFailure.None => outcome.Results[0],
            EncodeFailure.InvalidSequence => throw PlatformError.BadInput($"Argument 'sequence' is invalid: {outcome.Message}"),
            EncodeFailure.UnknownSae => throw PlatformError.BadInput($"Unknown SAE '{sae.Id}' (argument 'sae')."),
            _ => throw new PlatformError(ErrorCodes.Overloaded, outcome.Message ?? "The inference queue is full; retry later."),
        };
    }

    public async Task<NormalizationStats?> GetCheckpointStatisticsAsync(SaeDescriptor sae)
    {
        if (!sae.HasCheckpointStatistics) return null;
        lock (_checkpointStats)
            if (_checkpointStats.TryGetValue(sae.Id, out var known)) return known;
        var stats = await grains.GetGrain<ISaeCatalogGrain>(0).GetCheckpointStatisticsAsync(sae.Id);
        lock (_checkpointStats) _checkpointStats[sae.Id] = stats;
        return stats;
    }

    /// <summary>contracts.md: the SAE's own statistics when real, else imported, else corpus statistics, else none.</summary>
    public async Task<(NormalizationStats? Stats, NormalizationSource Source)> GetNormalizationAsync(SaeDescriptor sae)
    {
        if (await GetCheckpointStatisticsAsync(sae) is { } checkpoint && !FeatureMath.IsPlaceholder(checkpoint))
            return (checkpoint, NormalizationSource.Checkpoint);
        var statistics = grains.GetGrain<INormalizationStatsGrain>(sae.Id);
        if (await statistics.GetImportedAsync() is { } imported) return (imported.Stats, NormalizationSource.Imported);
        if (await statistics.GetCorpusNormalizationAsync(sae.CodebookSize) is { } corpus) return (corpus, NormalizationSource.Corpus);
        return (null, NormalizationSource.None);
    }

    public async Task<NormalizationSource> GetNormalizationSourceAsync(SaeDescriptor sae)
    {
        if (await GetCheckpointStatisticsAsync(sae) is { } checkpoint && !FeatureMath.IsPlaceholder(checkpoint)) return NormalizationSource.Checkpoint;
        var statistics = grains.GetGrain<INormalizationStatsGrain>(sae.Id);
        if (await statistics.GetImportedAsync() is not null) return NormalizationSource.Imported;
        var corpus = await statistics.GetCorpusStatisticsAsync([]);
        return corpus.CorpusSize > 0 ? NormalizationSource.Corpus : NormalizationSource.None;
    }

    public Task<CorpusStatistics> GetCorpusStatisticsAsync(string saeId, int[] indices) =>
        grains.GetGrain<INormalizationStatsGrain>(saeId).GetCorpusStatisticsAsync(indices);

    public async Task<JobInfo?> GetJobAsync(string id)
    {
        if (id.StartsWith(JobKinds.DescribeFeaturesIdPrefix, StringComparison.Ordinal)) return await grains.GetGrain<IDescribeJobGrain>(id).GetInfoAsync();
        if (id.StartsWith(JobKinds.ImportFeatureDatasetIdPrefix, StringComparison.Ordinal)) return await grains.GetGrain<IFeatureImportJobGrain>(id).GetInfoAsync();
        if (!id.StartsWith(JobKinds.IndexCorpusIdPrefix, StringComparison.Ordinal)) return null;
        return await grains.GetGrain<IIndexingJobGrain>(id).GetInfoAsync();
    }

    public async Task<JobInfo> StartIndexingAsync(SaeDescriptor sae, string fastaPath, int topExamples, Caller caller, int maxTopExamples)
    {
        if (topExamples < 1 || topExamples > maxTopExamples)
            throw PlatformError.BadInput($"Argument 'topExamples' must be between 1 and {maxTopExamples}; got {topExamples}.");
        var path = RequireReadableFile(fastaPath, "fastaPath");
        var id = JobKinds.NewIndexCorpusId();
        return await grains.GetGrain<IIndexingJobGrain>(id).StartAsync(new IndexCorpusRequest(sae.Id, path, topExamples, caller.Name));
    }

    public async Task ImportStatisticsAsync(SaeDescriptor sae, string path)
    {
        var fullPath = RequireReadableFile(path, "path");
        if (new FileInfo(fullPath).Length > Options.MaxImportBytes)
            throw PlatformError.BadInput($"Statistics file '{path}' is larger than {Options.MaxImportBytes} bytes (Esmc:Api:MaxImportBytes).");
        var stats = await NormalizationStatsFile.ReadAsync(fullPath, sae);
        await grains.GetGrain<INormalizationStatsGrain>(sae.Id).ImportAsync(new ImportedStatistics(stats, fullPath, DateTimeOffset.UtcNow));
    }

    /// <summary>importFeatureDataset: starts a job over a parquet file or folder on the server's disk.</summary>
    public async Task<JobInfo> StartFeatureImportAsync(SaeDescriptor sae, string path, string? dataset, string? revision, Caller caller)
    {
        var full = ResolveServerDatasetPath(path, "path");
        dataset = string.IsNullOrWhiteSpace(dataset) ? DefaultFeatureDataset : dataset.Trim();
        revision = string.IsNullOrWhiteSpace(revision) ? PulledRevision(full) : revision.Trim();
        var id = JobKinds.NewImportFeatureDatasetId();
        return await grains.GetGrain<IFeatureImportJobGrain>(id).StartAsync(new FeatureImportRequest(sae.Id, full, sae.CodebookSize, dataset, revision, caller.Name));
    }

    /// <summary>The dataset named in provenance when the caller names none: Biohub's published feature descriptions.</summary>
    public const string DefaultFeatureDataset = "biohub/ESMC-SAE-Features";

    /// <summary>
    /// The one place a server-side path of importFeatureDataset is resolved and checked (a file or a folder that exists).
    /// Rules about which folders the server may read from belong here, so they cover this mutation whole.
    /// </summary>
    public static string ResolveServerDatasetPath(string? path, string argument)
    {
        if (string.IsNullOrWhiteSpace(path)) throw PlatformError.BadInput($"Argument '{argument}' is empty.");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw PlatformError.BadInput($"Argument '{argument}' is not a valid path: '{path}'.");
        }
        if (!File.Exists(full) && !Directory.Exists(full))
            throw PlatformError.BadInput($"Argument '{argument}': '{path}' is neither a parquet file nor a folder on the server.");
        return full;
    }

    /// <summary>
    /// The commit a file was downloaded at when <c>esmc pull</c> (or huggingface-cli --local-dir) put it there: the first
    /// line of its <c>.cache/huggingface/download/FILE.metadata</c> in a folder above it. Null when not found.
    /// </summary>
    private static string? PulledRevision(string fileOrFolder)
    {
        var file = File.Exists(fileOrFolder) ? fileOrFolder : null;
        for (var dir = Path.GetDirectoryName(file ?? fileOrFolder); file is not null && dir is not null; dir = Path.GetDirectoryName(dir))
        {
            var metadata = Path.Combine(dir, ".cache", "huggingface", "download", Path.GetRelativePath(dir, file) + ".metadata");
            if (!File.Exists(metadata)) continue;
            try { return File.ReadLines(metadata).FirstOrDefault()?.Trim() is { Length: > 0 } commit ? commit : null; }
            catch (IOException) { return null; }
        }
        return null;
    }

    private static string RequireReadableFile(string? path, string argument)
    {
        if (string.IsNullOrWhiteSpace(path)) throw PlatformError.BadInput($"Argument '{argument}' is empty.");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw PlatformError.BadInput($"Argument '{argument}' is not a valid path: '{path}'.");
        }
        if (Directory.Exists(full)) throw PlatformError.BadInput($"Argument '{argument}': '{path}' is a directory, not a file.");
        if (!File.Exists(full)) throw PlatformError.BadInput($"Argument '{argument}': file '{path}' does not exist on the server.");
        return full;
    }
}

/// <summary>
/// The import format of published normalization statistics: a JSON object with two arrays of the SAE's codebook
/// size, <c>{"max": [...], "idf": [...]}</c> (optionally <c>"sae": "ID"</c>, checked when present). Values must be
/// finite and not negative; a feature with max 0 normalizes to 0.
/// </summary>
public static class NormalizationStatsFile
{
    public static async Task<NormalizationStats> ReadAsync(string path, SaeDescriptor sae)
    {
        JsonDocument document;
        try
        {
            await using var stream = File.OpenRead(path);
            document = await JsonDocument.ParseAsync(stream);
        }
        catch (JsonException ex)
        {
            throw PlatformError.BadInput($"Statistics file '{path}' is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw PlatformError.BadInput($"Statistics file '{path}' must hold a JSON object with arrays \"max\" and \"idf\".");
            if (root.TryGetProperty("sae", out var saeProperty) && saeProperty.ValueKind == JsonValueKind.String && saeProperty.GetString() != sae.Id)
                throw PlatformError.BadInput($"Statistics file '{path}' is for SAE '{saeProperty.GetString()}', not '{sae.Id}'.");
            return new NormalizationStats(ReadArray(root, "max", path, sae), ReadArray(root, "idf", path, sae));
        }
    }

    private static float[] ReadArray(JsonElement root, string name, string path, SaeDescriptor sae)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
            throw PlatformError.BadInput($"Statistics file '{path}' has no array \"{name}\".");
        if (array.GetArrayLength() != sae.CodebookSize)
            throw PlatformError.BadInput($"Statistics file '{path}': \"{name}\" has {array.GetArrayLength()} values; SAE '{sae.Id}' has {sae.CodebookSize} features.");
        var values = new float[sae.CodebookSize];
        var i = 0;
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value) || !double.IsFinite(value) || value < 0)
                throw PlatformError.BadInput($"Statistics file '{path}': \"{name}\"[{i}] = {element.GetRawText()} is not a finite, non-negative number.");
            values[i++] = (float)value;
        }
        return values;
    }
}

/// <summary>Floats leave the API as the shortest decimal that round-trips the float (0.1f is 0.1, not 0.10000000149).</summary>
public static class FloatOutput
{
    public static double ToDouble(float value) => double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
