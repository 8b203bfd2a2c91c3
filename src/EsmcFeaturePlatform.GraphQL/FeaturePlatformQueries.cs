using EsmcFeaturePlatform.Abstractions.Files;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using Microsoft.Extensions.Options;
using System.Globalization;
using System.Text.Json;

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

    /// <summary>
    /// analyzeSequence: the sequence's raw features, normalized with the statistics in effect when asked (a refusal
    /// names what is missing). The arrays of the statistics are not part of the answer: only their source and corpus size.
    /// </summary>
    public async Task<SequenceAnalysisView> AnalyzeSequenceAsync(SaeDescriptor sae, string? sequence, bool strict, bool normalize, CancellationToken cancellationToken)
    {
        NormalizationInEffect? normalization = null;
        if (normalize)
        {
            normalization = await GetNormalizationAsync(sae);
            if (normalization.Stats is null)
                throw PlatformError.BadInput($"SAE '{sae.Id}' has no normalization statistics: {normalization.Explanation} Ask with normalize: false, import statistics (importNormalizationStats) or index a corpus first.");
        }
        var stats = normalization?.Stats;
        var (encoded, prepared) = await AnalyzeAsync(sae, sequence, strict, cancellationToken);
        var residues = encoded.Residues
            .Select(row => (stats is null ? row : FeatureMath.Normalize(row, stats)).Select(f => new ActivationView(sae.Id, f.Index, f.Value, null)).ToArray())
            .ToArray();
        var pooled = (stats is null ? encoded.Pooled : FeatureMath.Normalize(encoded.Pooled, stats))
            .Select(p => new ActivationView(sae.Id, p.Index, p.Value, p.Position)).ToArray();
        return new SequenceAnalysisView(sae.Id, encoded.Length, residues, pooled, prepared.Residues, encoded.UnknownTokens, prepared.Warnings,
            normalization is null ? null : normalization with { Stats = null });
    }

    /// <summary>normalizationStats: the corpus counts of the features with max and idf of the source in effect, or of <paramref name="source"/>.</summary>
    public async Task<FeatureStatsView[]> NormalizationStatsAsync(SaeDescriptor sae, int[] indices, NormalizationSource? source)
    {
        var corpus = (await GetCorpusStatisticsAsync(sae.Id, indices)).Features;
        NormalizationSourceStatistics? chosen;
        if (source is { } wanted)
        {
            var sources = await GetNormalizationSourcesAsync(sae);
            chosen = Array.Find(sources, x => x.Source == wanted) ?? throw PlatformError.BadInput(
                $"Argument 'source': SAE '{sae.Id}' has no {NormalizationPrecedence.Name(wanted)} statistics; available: "
                + (sources.Length == 0 ? "none" : string.Join(", ", sources.Select(x => NormalizationPrecedence.Name(x.Source)))) + ".");
        }
        else
        {
            var inEffect = await GetNormalizationAsync(sae);
            chosen = inEffect.Stats is null ? null : new NormalizationSourceStatistics(inEffect.Source, inEffect.Stats, inEffect.CorpusSize, inEffect.ImportedFrom);
        }
        return chosen is null || chosen.Source == NormalizationSource.Corpus
            ? [.. corpus.Select(FeatureStatsView.FromCorpus)]
            : [.. corpus.Select(f => FeatureStatsView.FromSource(f, chosen.Stats, chosen.Source))];
    }

    /// <summary>normalizationSources: every source the SAE has, each with the features' statistics, the one in effect marked.</summary>
    public async Task<NormalizationSourceView[]> NormalizationSourcesAsync(SaeDescriptor sae, int[] indices)
    {
        var corpus = (await GetCorpusStatisticsAsync(sae.Id, indices)).Features;
        var inEffect = await GetNormalizationAsync(sae, withStatistics: false);
        return [.. (await GetNormalizationSourcesAsync(sae)).Select(source => new NormalizationSourceView(
            source, source.Source == inEffect.Source, source.Source == inEffect.Chosen,
            source.Source == NormalizationSource.Corpus
                ? [.. corpus.Select(FeatureStatsView.FromCorpus)]
                : [.. corpus.Select(f => FeatureStatsView.FromSource(f, source.Stats, source.Source))]))];
    }

    /// <summary>
    /// rebuildSearchIndex: the SAE's search documents from grain state. Everything is read first (a page at a time), so a
    /// failure while reading leaves the old documents in place. Returns how many were indexed.
    /// </summary>
    public async Task<int> RebuildSearchIndexAsync(SaeDescriptor sae, IFeatureIndex index, CancellationToken cancellationToken)
    {
        var documents = new List<FeatureDocument>();
        await foreach (var row in reader.EnumerateAsync(sae, 0, withAnnotationTerms: true, cancellationToken))
            if (row.Snapshot.HasContent) documents.Add(row.ToDocument());
        await index.DeleteSaeAsync(sae.Id, cancellationToken);
        foreach (var chunk in documents.Chunk(1024)) await index.UpsertAsync(chunk, cancellationToken);
        return documents.Count;
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

    /// <summary>The statistics an admin imported for the SAE, or null.</summary>
    public Task<ImportedStatistics?> GetImportedStatisticsAsync(string saeId) => grains.GetGrain<INormalizationStatsGrain>(saeId).GetImportedAsync();

    /// <summary>A page of the SAE's curation index (the review queue), after feature index <paramref name="afterIndex"/>.</summary>
    public Task<CurationPage> GetReviewQueueAsync(string saeId, DescriptionStatus status, DescriptionSource? source, int first, int afterIndex) =>
        grains.GetGrain<ICurationIndexGrain>(saeId).PageAsync(status, source, first, afterIndex);

    public Task<CurationOutcome> ProposeDescriptionAsync(FeatureKey key, DescriptionProposal proposal) =>
        grains.GetGrain<IFeatureGrain>(key.ToString()).ProposeDescriptionAsync(proposal);

    public Task<CurationOutcome> ReviewDescriptionAsync(FeatureKey key, DescriptionReview review) =>
        grains.GetGrain<IFeatureGrain>(key.ToString()).ReviewDescriptionAsync(review);

    /// <summary>describeFeatures: a DESCRIBE_FEATURES job over the given (validated, distinct) indices, or every feature when null.</summary>
    public Task<JobInfo> StartDescribeAsync(SaeDescriptor sae, int[]? indices, Caller caller) =>
        grains.GetGrain<IDescribeJobGrain>(JobKinds.NewDescribeFeaturesId()).StartAsync(new DescribeFeaturesRequest(sae.Id, indices, sae.CodebookSize, caller.Name));

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
