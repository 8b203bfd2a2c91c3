using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>What a FeatureActivation resolves from: value already raw or normalized, position only when pooled.</summary>
public sealed record ActivationView(string SaeId, int Index, float Value, int? Position);

public sealed record SequenceAnalysisView(
    string SaeId, int Length, ActivationView[][] Residues, ActivationView[] Pooled,
    string Sequence, int UnknownTokens, IReadOnlyList<string> Warnings, NormalizationInEffect? Normalization);

/// <summary>
/// One feature's statistics as the API shows them: from the corpus indexed here (<c>Feature.stats</c>), or from the
/// normalization source a caller asked about, where max and idf are that source's and the counts are the corpus's.
/// </summary>
public sealed record FeatureStatsView(int Index, float? MaxActivation, int DocumentCount, int CorpusSize, double? Idf, NormalizationSource Source)
{
    public static FeatureStatsView FromCorpus(FeatureStats s) => new(s.Index, s.MaxActivation, s.DocumentCount, s.CorpusSize, s.Idf, NormalizationSource.Corpus);

    /// <summary>max and idf of <paramref name="stats"/> (a feature with max 0 never fired there: both null).</summary>
    public static FeatureStatsView FromSource(FeatureStats corpus, NormalizationStats stats, NormalizationSource source)
    {
        var max = stats.Max[corpus.Index];
        return max > 0
            ? new(corpus.Index, max, corpus.DocumentCount, corpus.CorpusSize, FloatOutput.ToDouble(stats.Idf[corpus.Index]), source)
            : new(corpus.Index, null, corpus.DocumentCount, corpus.CorpusSize, null, source);
    }
}

/// <summary>One available normalization source with some of its features' statistics.</summary>
public sealed record NormalizationSourceView(NormalizationSourceStatistics Source, bool InEffect, bool Chosen, FeatureStatsView[] Features);

public sealed record FeatureView(string SaeId, int Index)
{
    public FeatureKey Key => new(SaeId, Index);
}

internal static class ContextExtensions
{
    public static FeaturePlatformQueries Queries(this IResolveFieldContext context) =>
        (FeaturePlatformQueries)context.RequestServices!.GetService(typeof(FeaturePlatformQueries))!;

    public static PlatformUserContext User(this IResolveFieldContext context) => (PlatformUserContext)context.UserContext;
}

public sealed class SaeType : ObjectGraphType<SaeDescriptor>
{
    public SaeType()
    {
        Name = "Sae";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("model").Resolve(c => c.Source.Model);
        Field<NonNullGraphType<IntGraphType>>("layer").Resolve(c => c.Source.Layer);
        Field<NonNullGraphType<IntGraphType>>("k").Resolve(c => c.Source.K);
        Field<NonNullGraphType<IntGraphType>>("codebookSize").Resolve(c => c.Source.CodebookSize);
        Field<NonNullGraphType<BooleanGraphType>>("hasNormalizationStats")
            .ResolveAsync(async c => await c.Queries().GetNormalizationSourceAsync(c.Source) != NormalizationSource.None);
        Field<StringGraphType>("normalizationSource")
            .Description("Where normalized values come from: CHECKPOINT, IMPORTED or CORPUS; null when there are no statistics.")
            .ResolveAsync(async c => await c.Queries().GetNormalizationSourceAsync(c.Source) switch
            {
                NormalizationSource.None => null,
                var source => source.ToString().ToUpperInvariant(),
            });
        Field<NormalizationSourceType>("normalizationSourceChosen")
            .Description("The source an admin chose with setNormalizationSource; null when the default order applies (imported, then real checkpoint statistics, then corpus statistics).")
            .ResolveAsync(async c => (await c.Queries().GetNormalizationAsync(c.Source, withStatistics: false)).Chosen);
        Field<NonNullGraphType<StringGraphType>>("normalizationExplanation")
            .Description("Why normalizationSource is in effect, in one sentence.")
            .ResolveAsync(async c => (await c.Queries().GetNormalizationAsync(c.Source, withStatistics: false)).Explanation);
        Field<NonNullGraphType<IntGraphType>>("corpusSize").Description("Proteins indexed into this SAE.")
            .ResolveAsync(async c => (await c.Queries().GetCorpusStatisticsAsync(c.Source.Id, [])).CorpusSize);
        Field<NonNullGraphType<IntGraphType>>("dModel").Resolve(c => c.Source.DModel);
        Field<NonNullGraphType<BooleanGraphType>>("isDemo")
            .Description("The base model is the generated RANDOM demo checkpoint: its features carry no biological meaning.")
            .Resolve(c => c.Source.IsDemo);
        Field<StringGraphType>("notice")
            .Description($"\"{SaeDescriptor.DemoNotice}\" for a demo SAE; null otherwise. Show it with every result of this SAE.")
            .Resolve(c => c.Source.Notice);
        Field<ImportedStatisticsType>("importedStatistics").Description("Imported normalization statistics, if any (normalizationSource says whether they are in effect).")
            .ResolveAsync(async c => await c.Queries().Grains.GetGrain<INormalizationStatsGrain>(c.Source.Id).GetImportedAsync());
    }
}

public sealed class FeatureActivationType : ObjectGraphType<ActivationView>
{
    public FeatureActivationType()
    {
        Name = "FeatureActivation";
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<NonNullGraphType<FloatGraphType>>("value").Resolve(c => FloatOutput.ToDouble(c.Source.Value));
        Field<IntGraphType>("position").Resolve(c => c.Source.Position);
        Field<FeatureType>("feature").Resolve(c => new FeatureView(c.Source.SaeId, c.Source.Index));
    }
}

public sealed class SequenceAnalysisType : ObjectGraphType<SequenceAnalysisView>
{
    public SequenceAnalysisType()
    {
        Name = "SequenceAnalysis";
        Field<NonNullGraphType<IdGraphType>>("sae").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<IntGraphType>>("length").Resolve(c => c.Source.Length);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureActivationType>>>>>>("residues")
            .Resolve(c => c.Source.Residues);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureActivationType>>>>("pooled").Resolve(c => c.Source.Pooled);
        Field<NonNullGraphType<StringGraphType>>("sequence")
            .Description("The residues analyzed, after the input rule (upper-cased, white space and one trailing '*' removed); with strict: false the text as sent.")
            .Resolve(c => c.Source.Sequence);
        Field<NonNullGraphType<IntGraphType>>("unknownTokens")
            .Description("Characters encoded as <unk> (only with strict: false; strict input never has any).")
            .Resolve(c => c.Source.UnknownTokens);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("warnings")
            .Description("What the input rule noticed without refusing the input (e.g. it looks like a nucleotide sequence; <unk> tokens were used).")
            .Resolve(c => c.Source.Warnings);
        Field<NormalizationUsedType>("normalization")
            .Description("With normalize: true, the statistics used: their source and the corpus size they were computed over; null for raw values.")
            .Resolve(c => c.Source.Normalization);
        Field<StringGraphType>("notice").Description("Sae.notice of the SAE analyzed: set when its base model is the random demo model.")
            .ResolveAsync(async c => (await c.Queries().RequireSaeAsync(c.Source.SaeId)).Notice);
    }
}

public sealed class NormalizationSourceType : EnumerationGraphType
{
    public NormalizationSourceType()
    {
        Name = "NormalizationSource";
        Description = "Where normalization statistics (per-feature max and idf) come from.";
        Add("CHECKPOINT", NormalizationSource.Checkpoint, "The SAE checkpoint's own statistics (only when they are real, not all-ones placeholders).");
        Add("IMPORTED", NormalizationSource.Imported, "Statistics an admin imported (importNormalizationStats).");
        Add("CORPUS", NormalizationSource.Corpus, "Statistics of the corpus indexed on this platform (indexCorpus).");
    }
}

public sealed class NormalizationUsedType : ObjectGraphType<NormalizationInEffect>
{
    public NormalizationUsedType()
    {
        Name = "NormalizationUsed";
        Description = "The normalization statistics an answer used, and where they come from.";
        Field<NonNullGraphType<NormalizationSourceType>>("source").Resolve(c => c.Source.Source);
        Field<IntGraphType>("corpusSize").Description("Proteins the statistics were computed over, when the source says (the indexed corpus does; checkpoint and imported statistics do not).")
            .Resolve(c => c.Source.CorpusSize);
        Field<NonNullGraphType<BooleanGraphType>>("chosenByAdmin").Resolve(c => c.Source.Chosen is not null);
        Field<NonNullGraphType<StringGraphType>>("explanation").Resolve(c => c.Source.Explanation);
        Field<StringGraphType>("importedFrom").Description("The imported file, for IMPORTED.").Resolve(c => c.Source.ImportedFrom);
    }
}

public sealed class NormalizationSourceStatsType : ObjectGraphType<NormalizationSourceView>
{
    public NormalizationSourceStatsType()
    {
        Name = "NormalizationSourceStats";
        Description = "One available source of normalization statistics, side by side with the others.";
        Field<NonNullGraphType<NormalizationSourceType>>("source").Resolve(c => c.Source.Source.Source);
        Field<NonNullGraphType<BooleanGraphType>>("inEffect").Description("Whether normalize: true uses this source now.").Resolve(c => c.Source.InEffect);
        Field<NonNullGraphType<BooleanGraphType>>("chosenByAdmin").Resolve(c => c.Source.Chosen);
        Field<IntGraphType>("corpusSize").Description("Proteins the statistics were computed over, when the source says.").Resolve(c => c.Source.Source.CorpusSize);
        Field<StringGraphType>("importedFrom").Resolve(c => c.Source.Source.ImportedFrom);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureStatsType>>>>("features").Resolve(c => c.Source.Features);
    }
}

public sealed class FeatureStatsType : ObjectGraphType<FeatureStatsView>
{
    public FeatureStatsType()
    {
        Name = "FeatureStats";
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<FloatGraphType>("maxActivation").Description("From `source`: max raw activation; null if never active there.")
            .Resolve(c => c.Source.MaxActivation is { } max ? FloatOutput.ToDouble(max) : null);
        Field<NonNullGraphType<IntGraphType>>("documentCount").Description("Proteins of the corpus indexed here with the feature active (whatever `source` is: only the corpus has counts).")
            .Resolve(c => c.Source.DocumentCount);
        Field<NonNullGraphType<IntGraphType>>("corpusSize").Description("Proteins indexed here (whatever `source` is).").Resolve(c => c.Source.CorpusSize);
        Field<FloatGraphType>("idf").Description("From `source`: for CORPUS ln(corpusSize / documentCount); null when never active there.")
            .Resolve(c => c.Source.Idf);
        Field<NonNullGraphType<NormalizationSourceType>>("source").Description("Where maxActivation and idf come from.").Resolve(c => c.Source.Source);
    }
}

public sealed class ActivationExampleType : ObjectGraphType<ActivationExample>
{
    public ActivationExampleType()
    {
        Name = "ActivationExample";
        Field<NonNullGraphType<StringGraphType>>("sequenceId").Resolve(c => c.Source.SequenceId);
        Field<NonNullGraphType<FloatGraphType>>("maxValue").Resolve(c => FloatOutput.ToDouble(c.Source.MaxValue));
        Field<NonNullGraphType<IntGraphType>>("position").Resolve(c => c.Source.Position);
        Field<NonNullGraphType<StringGraphType>>("sequence").Resolve(c => c.Source.Sequence);
        Field<StringGraphType>("proteinName").Description("The protein's name from its corpus record (UniProt's recommended name, or the FASTA header's description); null when it has none.")
            .Resolve(c => c.Source.ProteinName);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FloatGraphType>>>>("activations")
            .Resolve(c => c.Source.Activations.Select(FloatOutput.ToDouble).ToArray());
    }
}

public sealed class DescriptionStatusType : EnumerationGraphType<DescriptionStatus>
{
    public DescriptionStatusType() => Name = "DescriptionStatus";
}

public sealed class DescriptionSourceType : EnumerationGraphType<DescriptionSource>
{
    public DescriptionSourceType() => Name = "DescriptionSource";
}

public sealed class DescriptionVersionType : ObjectGraphType<DescriptionVersion>
{
    public DescriptionVersionType()
    {
        Name = "DescriptionVersion";
        Field<NonNullGraphType<IntGraphType>>("version").Resolve(c => c.Source.Version);
        Field<NonNullGraphType<StringGraphType>>("label").Resolve(c => c.Source.Label);
        Field<NonNullGraphType<StringGraphType>>("text").Resolve(c => c.Source.Text);
        Field<NonNullGraphType<DescriptionStatusType>>("status").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<DescriptionSourceType>>("source").Resolve(c => c.Source.Source);
        Field<NonNullGraphType<StringGraphType>>("author").Description("Who proposed this version: the API key's name, or the describer (agent model, evidence-only).")
            .Resolve(c => c.Source.Author);
        Field<NonNullGraphType<StringGraphType>>("createdAt").Description("When it was proposed (UTC, ISO 8601).")
            .Resolve(c => Timestamp(c.Source.CreatedAt));
        Field<StringGraphType>("reviewer").Description("Who approved or rejected it (the API key's name); null while PROPOSED.")
            .Resolve(c => c.Source.Reviewer);
        Field<StringGraphType>("reviewedAt").Description("When it was approved or rejected (UTC, ISO 8601); null while PROPOSED.")
            .Resolve(c => c.Source.ReviewedAt is { } at ? Timestamp(at) : null);
        Field<FloatGraphType>("score").Resolve(c => c.Source.Score);
        Field<StringGraphType>("reviewNote").Resolve(c => c.Source.ReviewNote);
        Field<StringGraphType>("provenance").Description("For IMPORTED versions: the dataset, revision and file it came from.").Resolve(c => c.Source.Provenance);
    }

    private static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class FeatureType : ObjectGraphType<FeatureView>
{
    public FeatureType()
    {
        Name = "Feature";
        Field<NonNullGraphType<IdGraphType>>("sae").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<IntGraphType>>("index").Resolve(c => c.Source.Index);
        Field<StringGraphType>("notice").Description("Sae.notice of the feature's SAE: set when its base model is the random demo model.")
            .ResolveAsync(async c => (await c.Queries().RequireSaeAsync(c.Source.SaeId)).Notice);
        Field<FeatureStatsType>("stats").Description("Statistics of the corpus indexed on this platform (source CORPUS).")
            .Resolve(c => new DataLoaderProjection<FeatureStats, FeatureStatsView>(c.User().Loaders.Stats.Load(c.Source.Key), s => s is null ? null : FeatureStatsView.FromCorpus(s)));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActivationExampleType>>>>("topExamples")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 20)
            .ResolveAsync(async c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return await c.Queries().Reader.TopExamplesAsync(c.Source.Key, first);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ActivationExampleType>>>>("quantileSamples")
            .Description("Examples spread over the feature's activation range (a uniform sample of the proteins it fires in, taken at evenly spaced ranks), highest first.")
            .Argument<NonNullGraphType<IntGraphType>>("count", a => a.DefaultValue = 10)
            .ResolveAsync(async c =>
            {
                var count = c.Queries().RequirePageSize(c.GetArgument<int>("count"), "count");
                return await c.Queries().Reader.QuantileSamplesAsync(c.Source.Key, count);
            });
        Field<DescriptionVersionType>("description")
            .Description("The latest APPROVED version, else the latest version, else null.")
            .Resolve(c => c.User().Loaders.CurrentDescriptions.Load(c.Source.Key));
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<DescriptionVersionType>>>>("descriptions")
            .Description("The whole history, oldest first.")
            .Resolve(c => new DataLoaderProjection<DescriptionVersion[], DescriptionVersion[]>(c.User().Loaders.Histories.Load(c.Source.Key), h => h ?? []));
        Field<ImportedFeatureType>("imported")
            .Description("Fields, reference examples and neighbours imported from a published feature dataset; null when none was imported.")
            .ResolveAsync(async c => await c.Queries().Reader.ImportedAsync(c.Source.Key) is { } data
                ? new ImportedFeatureView(c.Source.SaeId, data) : null);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureNeighborType>>>>("nearestFeatures")
            .Description("The features whose SAE decoder rows have the highest cosine with this one's, highest first (this feature excluded).")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 10)
            .Resolve(c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return new DataLoaderProjection<FeatureNeighborView[], FeatureNeighborView[]>(
                    c.User().Loaders.Neighbors.Load(new NeighborRequest(c.Source.Key, first)), n => n ?? []);
            });
        Field<NonNullGraphType<ActivationHistogramType>>("activationHistogram")
            .Description("How strongly the feature fires in the proteins it fires in: each protein's peak activation, over the uniform sample of "
                + "activating proteins indexing keeps (up to Esmc:Indexing:SampleCapacity), in equal bins from 0 to the feature's max activation.")
            .Argument<NonNullGraphType<IntGraphType>>("bins", a => a.DefaultValue = 20)
            .ResolveAsync(async c =>
            {
                var bins = c.GetArgument<int>("bins");
                if (bins is < 1 or > 200) throw PlatformError.BadInput($"Argument 'bins' must be between 1 and 200; got {bins}.");
                return ActivationHistogramView.Of(await c.Queries().Reader.SampleAsync(c.Source.Key), bins);
            });
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<AnnotationEnrichmentType>>>>("annotationEnrichment")
            .Description("UniProt feature types and named domains/sites annotated where the feature is active in its top examples "
                + "(the description agent's residue-level annotation enrichment): one row per term tested, significant ones first "
                + "(Benjamini-Hochberg over every feature x term of the SAE), then by F1. Empty when no example has annotations "
                + "(e.g. a FASTA corpus) or the feature never fired.")
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 10)
            .Resolve(c =>
            {
                var first = c.Queries().RequirePageSize(c.GetArgument<int>("first"), "first");
                return new DataLoaderProjection<Abstractions.Evidence.ConceptEnrichment[], Abstractions.Evidence.ConceptEnrichment[]>(
                    c.User().Loaders.Enrichment.Load(c.Source.Key), e => [.. (e ?? []).Take(first)]);
            });
    }
}

/// <summary>A loaded value mapped on the way out, still deferred so the batch stays whole.</summary>
public sealed class DataLoaderProjection<TIn, TOut>(global::GraphQL.DataLoader.IDataLoaderResult<TIn?> inner, Func<TIn?, TOut?> map)
    : global::GraphQL.DataLoader.IDataLoaderResult<TOut?>
{
    public async Task<TOut?> GetResultAsync(CancellationToken cancellationToken = default) => map(await inner.GetResultAsync(cancellationToken));

    async Task<object?> global::GraphQL.DataLoader.IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => await GetResultAsync(cancellationToken);
}

public sealed class JobStatusType : EnumerationGraphType<JobStatus>
{
    public JobStatusType() => Name = "JobStatus";
}

public sealed class JobType : ObjectGraphType<JobInfo>
{
    /// <summary>The role that may start a job of <paramref name="kind"/> (and so read its error); unknown kinds: admin.</summary>
    public static CallerRole RoleToStart(string kind) => kind == JobKinds.DescribeFeatures ? CallerRole.Curator : CallerRole.Admin;

    public JobType()
    {
        Name = "Job";
        Field<NonNullGraphType<IdGraphType>>("id").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("kind").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<IdGraphType>>("sae").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<JobStatusType>>("status").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<IntGraphType>>("processed").Resolve(c => c.Source.Processed);
        Field<IntGraphType>("total").Resolve(c => c.Source.Total);
        Field<StringGraphType>("error")
            .Description("Why the job failed. Shown only to keys whose role may start this kind of job (admin: INDEX_CORPUS, curator: DESCRIBE_FEATURES); null for other callers.")
            .Resolve(c => c.User().Caller.Role >= RoleToStart(c.Source.Kind) ? c.Source.Error : null);
        Field<StringGraphType>("waiting").Description("Why a RUNNING job is not moving now (e.g. \"waiting for storage since ...: ...\"); null otherwise.")
            .Resolve(c => c.Source.Waiting);
        Field<NonNullGraphType<IntGraphType>>("skipped")
            .Description("Records skipped (counted in processed): malformed, refused by the sequence rule, too long, ... (INDEX_CORPUS).")
            .Resolve(c => c.Source.Skipped);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SkippedRecordType>>>>("firstSkipped")
            .Description("The first skipped records with their reasons; every one is in skippedRecords.")
            .Resolve(c => c.Source.FirstSkipped ?? []);
        Field<NonNullGraphType<SkippedRecordPageType>>("skippedRecords")
            .Description("Every skipped record, in file order, a page at a time.")
            .Argument<NonNullGraphType<IntGraphType>>("offset", a => a.DefaultValue = 0)
            .Argument<NonNullGraphType<IntGraphType>>("first", a => a.DefaultValue = 100)
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var first = queries.RequirePageSize(c.GetArgument<int>("first"), "first");
                var offset = c.GetArgument<int>("offset");
                if (offset < 0) throw PlatformError.BadInput($"Argument 'offset' must not be negative; got {offset}.");
                return await queries.GetSkippedRecordsAsync(c.Source.Id, offset, first);
            });
        Field<NonNullGraphType<IntGraphType>>("screened").Description("indexCorpus: of the skipped records, those the biosecurity screening blocked (reason SCREENED; see screeningEvents).").Resolve(c => c.Source.Screened);
        Field<NonNullGraphType<StringGraphType>>("createdAt").Resolve(c => c.Source.CreatedAt.UtcDateTime.ToString("O"));
        Field<NonNullGraphType<StringGraphType>>("updatedAt").Resolve(c => c.Source.UpdatedAt.UtcDateTime.ToString("O"));
    }
}

public sealed class SkippedRecordType : ObjectGraphType<SkippedRecord>
{
    public SkippedRecordType()
    {
        Name = "SkippedRecord";
        Field<NonNullGraphType<IntGraphType>>("recordNumber").Description("1-based position of the record in the file.").Resolve(c => c.Source.RecordNumber);
        Field<StringGraphType>("sequenceId").Resolve(c => c.Source.SequenceId);
        Field<NonNullGraphType<StringGraphType>>("reason").Description("INVALID_RECORD, INVALID_SEQUENCE, TOO_LONG, ... (new reasons may be added).").Resolve(c => c.Source.Reason);
        Field<NonNullGraphType<StringGraphType>>("message").Resolve(c => c.Source.Message);
    }
}

public sealed class SkippedRecordPageType : ObjectGraphType<SkippedRecordPage>
{
    public SkippedRecordPageType()
    {
        Name = "SkippedRecordPage";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SkippedRecordType>>>>("records").Resolve(c => c.Source.Records);
    }
}

public sealed class InvalidRecordPolicyType : EnumerationGraphType
{
    public InvalidRecordPolicyType()
    {
        Name = "InvalidRecordPolicy";
        Add("SKIP", InvalidRecordPolicy.Skip, "Skip the record and report it in the job (the default).");
        Add("FAIL", InvalidRecordPolicy.Fail, "Fail the job at the first record that cannot be indexed, naming it.");
    }
}

public sealed class OverLongPolicyType : EnumerationGraphType
{
    public OverLongPolicyType()
    {
        Name = "OverLongPolicy";
        Add("SKIP", OverLongPolicy.Skip, "Skip proteins over Esmc:Inference:MaxTokens and report them (the default).");
        Add("WINDOW", OverLongPolicy.Window,
            "Encode them as overlapping windows of the longest accepted length; each residue takes its features from the window where it has the most context. A departure from the reference, which never sees more than the limit at once.");
    }
}

/// <summary>Feature.activationHistogram: per-protein peak activations of the stored uniform sample, binned from 0 to the max.</summary>
public sealed record ActivationHistogramView(int SampleSize, int DocumentCount, double Max, HistogramBinView[] Bins)
{
    public static ActivationHistogramView Of(FeatureStatistics statistics, int bins)
    {
        var peaks = statistics.Samples.Select(s => (double)s.MaxValue).Where(v => v > 0).ToArray();
        var max = Math.Max(statistics.MaxActivation ?? 0, peaks.Length == 0 ? 0 : peaks.Max());
        var counts = new int[bins];
        var width = max > 0 ? max / bins : 0;
        foreach (var v in peaks) counts[width > 0 ? Math.Min(bins - 1, (int)(v / width)) : 0]++;
        return new ActivationHistogramView(peaks.Length, statistics.DocumentCount, max,
            [.. Enumerable.Range(0, bins).Select(i => new HistogramBinView(i * width, i == bins - 1 ? max : (i + 1) * width, counts[i]))]);
    }
}

public sealed record HistogramBinView(double From, double To, int Count);

public sealed class HistogramBinType : ObjectGraphType<HistogramBinView>
{
    public HistogramBinType()
    {
        Name = "HistogramBin";
        Field<NonNullGraphType<FloatGraphType>>("from").Description("Lower edge (inclusive).").Resolve(c => c.Source.From);
        Field<NonNullGraphType<FloatGraphType>>("to").Description("Upper edge (exclusive; the last bin includes the max).").Resolve(c => c.Source.To);
        Field<NonNullGraphType<IntGraphType>>("count").Description("Sampled proteins whose peak activation falls in the bin.").Resolve(c => c.Source.Count);
    }
}

public sealed class ActivationHistogramType : ObjectGraphType<ActivationHistogramView>
{
    public ActivationHistogramType()
    {
        Name = "ActivationHistogram";
        Field<NonNullGraphType<IntGraphType>>("sampleSize").Description("Proteins in the sample the histogram counts.").Resolve(c => c.Source.SampleSize);
        Field<NonNullGraphType<IntGraphType>>("documentCount").Description("All indexed proteins the feature fires in (the sample is drawn from these).")
            .Resolve(c => c.Source.DocumentCount);
        Field<NonNullGraphType<FloatGraphType>>("max").Description("The feature's max activation: the upper edge of the last bin.").Resolve(c => c.Source.Max);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<HistogramBinType>>>>("bins").Resolve(c => c.Source.Bins);
    }
}
