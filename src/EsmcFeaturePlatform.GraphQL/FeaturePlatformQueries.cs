using System.Globalization;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Files;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>What the resolvers need from the cluster, with input validation that names the bad argument.</summary>
public sealed class FeaturePlatformQueries(IGrainFactory grains, IFeatureReader reader, IOptions<ApiOptions> options, ServerFileRule files)
{
    public ApiOptions Options => options.Value;

    public IGrainFactory Grains => grains;

    /// <summary>Every read of features goes through the one feature-reading service.</summary>
    public IFeatureReader Reader => reader;

    public Task<SaeCatalog> GetCatalogAsync() => reader.GetCatalogAsync();

    public async Task<SaeDescriptor> RequireSaeAsync(string? saeId)
    {
        var catalog = await GetCatalogAsync();
        var sae = Array.Find(catalog.Saes, s => s.Id == saeId);
        if (sae is not null) return sae;
        var known = catalog.Saes.Length == 0 ? "none are loaded" : "known: " + string.Join(", ", catalog.Saes.Select(s => s.Id));
        throw PlatformError.BadInput($"Unknown SAE {InputExcerpt.Quote(saeId)} (argument 'sae'); {known}.");
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

    /// <summary>
    /// The argument 'sequence' through the one input rule (<see cref="ProteinSequenceInput"/>), then its raw features.
    /// The cache is keyed by the prepared residues, so "mktayiak" and "MKTAYIAK" are one analysis.
    /// </summary>
    public async Task<(EncodedSequence Encoded, PreparedSequence Prepared)> AnalyzeAsync(SaeDescriptor sae, string? sequence, bool strict, CancellationToken cancellationToken = default)
    {
        PreparedSequence prepared;
        try { prepared = ProteinSequenceInput.Prepare(sequence, "argument 'sequence'", strict); }
        catch (InvalidSequenceException ex) { throw PlatformError.BadInput(ex.Message); }
        var outcome = await grains.GetGrain<IAnalysisGrain>(AnalysisKeys.For(sae.Id, prepared.Residues)).AnalyzeAsync(prepared.Residues, cancellationToken);
        return outcome.Failure switch
        {
            EncodeFailure.None => (outcome.Results[0], prepared),
            EncodeFailure.InvalidSequence => throw PlatformError.BadInput($"Argument 'sequence' is invalid: {outcome.Message}"),
            EncodeFailure.UnknownSae => throw PlatformError.BadInput($"Unknown SAE '{sae.Id}' (argument 'sae')."),
            _ => throw new PlatformError(ErrorCodes.Overloaded, outcome.Message ?? "The inference queue is full; retry later."),
        };
    }

    /// <summary>The statistics in effect and their source: the SAE's statistics grain applies <see cref="NormalizationPrecedence"/>.</summary>
    public Task<NormalizationInEffect> GetNormalizationAsync(SaeDescriptor sae, bool withStatistics = true) =>
        grains.GetGrain<INormalizationStatsGrain>(sae.Id).GetInEffectAsync(sae, withStatistics);

    public async Task<NormalizationSource> GetNormalizationSourceAsync(SaeDescriptor sae) =>
        (await GetNormalizationAsync(sae, withStatistics: false)).Source;

    public Task<NormalizationSourceStatistics[]> GetNormalizationSourcesAsync(SaeDescriptor sae) =>
        grains.GetGrain<INormalizationStatsGrain>(sae.Id).GetAvailableSourcesAsync(sae);

    public async Task<NormalizationInEffect> ChooseNormalizationSourceAsync(SaeDescriptor sae, NormalizationSource? source)
    {
        try { return await grains.GetGrain<INormalizationStatsGrain>(sae.Id).ChooseSourceAsync(sae, source); }
        catch (ArgumentException ex) { throw PlatformError.BadInput($"Argument 'source': {ex.Message}"); }
    }

    public Task<CorpusStatistics> GetCorpusStatisticsAsync(string saeId, int[] indices) => reader.GetCorpusStatisticsAsync(saeId, indices);

    public async Task<JobInfo?> GetJobAsync(string id)
    {
        if (id.StartsWith(JobKinds.DescribeFeaturesIdPrefix, StringComparison.Ordinal)) return await grains.GetGrain<IDescribeJobGrain>(id).GetInfoAsync();
        if (id.StartsWith(JobKinds.ImportFeatureDatasetIdPrefix, StringComparison.Ordinal)) return await grains.GetGrain<IFeatureImportJobGrain>(id).GetInfoAsync();
        if (!id.StartsWith(JobKinds.IndexCorpusIdPrefix, StringComparison.Ordinal)) return null;
        return await grains.GetGrain<IIndexingJobGrain>(id).GetInfoAsync();
    }

    public async Task<JobInfo> StartIndexingAsync(
        SaeDescriptor sae, string fastaPath, int topExamples, Caller caller, int maxTopExamples, InvalidRecordPolicy onInvalidRecord, OverLongPolicy onOverLong)
    {
        if (topExamples < 1 || topExamples > maxTopExamples)
            throw PlatformError.BadInput($"Argument 'topExamples' must be between 1 and {maxTopExamples}; got {topExamples}.");
        var path = RequireServerFile(fastaPath, "fastaPath");
        var id = JobKinds.NewIndexCorpusId();
        return await grains.GetGrain<IIndexingJobGrain>(id).StartAsync(new IndexCorpusRequest(sae.Id, path, topExamples, caller.Name, onInvalidRecord, onOverLong));
    }

    /// <summary>A page of the records an indexing job skipped (empty for other jobs and unknown ids).</summary>
    public Task<SkippedRecordPage> GetSkippedRecordsAsync(string jobId, int offset, int first) =>
        jobId.StartsWith(JobKinds.IndexCorpusIdPrefix, StringComparison.Ordinal)
            ? grains.GetGrain<ISkippedRecordsGrain>(jobId).GetPageAsync(offset, first)
            : Task.FromResult(new SkippedRecordPage(0, []));

    /// <summary>Stores the file's statistics as the SAE's imported statistics (the mutation then reports the source in effect).</summary>
    public async Task ImportStatisticsAsync(SaeDescriptor sae, string path)
    {
        var fullPath = RequireServerFile(path, "path", Options.MaxImportBytes);
        NormalizationStats stats;
        try
        {
            await using var stream = files.OpenRead(fullPath, Options.MaxImportBytes);
            stats = await NormalizationStatsFile.ReadAsync(stream, Path.GetFileName(fullPath), sae);
        }
        catch (ServerFileException ex)
        {
            throw PlatformError.BadInput($"Argument 'path': {ex.Message}");
        }
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

    /// <summary>A parquet file or a folder of them, under the server's one file rule (the corpus roots; see <see cref="ServerFileRule"/>).</summary>
    private string ResolveServerDatasetPath(string? path, string argument)
    {
        try { return files.ResolveFileOrFolder(path); }
        catch (ServerFileException ex) { throw PlatformError.BadInput($"Argument '{argument}': {ex.Message}"); }
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

    /// <summary>The server's one file rule (<see cref="ServerFileRule"/>), its refusals as BAD_USER_INPUT naming the argument.</summary>
    private string RequireServerFile(string? path, string argument, long? maxBytes = null)
    {
        try { return files.Resolve(path, maxBytes); }
        catch (ServerFileException ex) { throw PlatformError.BadInput($"Argument '{argument}': {ex.Message}"); }
    }
}

/// <summary>
/// The import format of published normalization statistics: a JSON object with two arrays of the SAE's codebook
/// size, <c>{"max": [...], "idf": [...]}</c> (optionally <c>"sae": "ID"</c>, checked when present). Values must be
/// finite and not negative; a feature with max 0 normalizes to 0.
/// </summary>
public static class NormalizationStatsFile
{
    /// <summary>Reads the file; errors name it (<paramref name="path"/>) and the place, never its contents.</summary>
    public static async Task<NormalizationStats> ReadAsync(Stream stream, string path, SaeDescriptor sae)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(stream);
        }
        catch (JsonException ex)
        {
            throw PlatformError.BadInput($"Statistics file '{path}' is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw PlatformError.BadInput($"Statistics file '{path}' must hold a JSON object with arrays \"max\" and \"idf\".");
            if (root.TryGetProperty("sae", out var saeProperty) && saeProperty.ValueKind == JsonValueKind.String && saeProperty.GetString() != sae.Id)
                throw PlatformError.BadInput($"Statistics file '{path}' names another SAE in \"sae\", not '{sae.Id}'.");
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
                throw PlatformError.BadInput($"Statistics file '{path}': \"{name}\"[{i}] is not a finite, non-negative number.");
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
