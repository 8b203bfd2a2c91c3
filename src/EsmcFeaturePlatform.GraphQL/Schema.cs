using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class QueryType : ObjectGraphType
{
    public QueryType()
    {
        Name = "Query";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<SaeType>>>>("saes")
            .ResolveAsync(async c => (await c.Queries().GetCatalogAsync()).Saes);

        Field<NonNullGraphType<SequenceAnalysisType>>("analyzeSequence")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<StringGraphType>>("sequence")
            .Argument<NonNullGraphType<BooleanGraphType>>("normalize", a => a.DefaultValue = false)
            .Argument<NonNullGraphType<BooleanGraphType>>("strict", a =>
            {
                a.DefaultValue = true;
                a.Description = "true: letters are upper-cased, white space and one trailing '*' removed, anything outside the ESMC vocabulary refused (BAD_USER_INPUT naming the character and its position). "
                    + "false: the reference tokenizer's behaviour (case sensitive, unknown characters become <unk>, counted in unknownTokens).";
            })
            .ResolveAsync(async c =>
            {
                await c.ScreenSequenceAsync(c.GetArgument<string>("sequence"), ScreeningEntryPoints.AnalyzeSequence);
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                NormalizationInEffect? normalization = null;
                if (c.GetArgument<bool>("normalize"))
                {
                    normalization = await queries.GetNormalizationAsync(sae);
                    if (normalization.Stats is null)
                        throw PlatformError.BadInput($"SAE '{sae.Id}' has no normalization statistics: {normalization.Explanation} Ask with normalize: false, import statistics (importNormalizationStats) or index a corpus first.");
                }
                var stats = normalization?.Stats;
                var (encoded, prepared) = await queries.AnalyzeAsync(sae, c.GetArgument<string>("sequence"), c.GetArgument<bool>("strict"), c.CancellationToken);
                var residues = encoded.Residues
                    .Select(row => (stats is null ? row : FeatureMath.Normalize(row, stats)).Select(f => new ActivationView(sae.Id, f.Index, f.Value, null)).ToArray())
                    .ToArray();
                var pooled = (stats is null ? encoded.Pooled : FeatureMath.Normalize(encoded.Pooled, stats))
                    .Select(p => new ActivationView(sae.Id, p.Index, p.Value, p.Position)).ToArray();
                // The arrays are not part of the answer: only the source and corpus size are reported.
                return new SequenceAnalysisView(sae.Id, encoded.Length, residues, pooled, prepared.Residues, encoded.UnknownTokens, prepared.Warnings,
                    normalization is null ? null : normalization with { Stats = null });
            });

        Field<FeatureType>("feature")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<IntGraphType>>("index")
            .ResolveAsync(async c =>
            {
                var sae = await c.Queries().RequireSaeAsync(c.GetArgument<string>("sae"));
                var index = c.GetArgument<int>("index");
                FeaturePlatformQueries.RequireIndex(sae, index);
                return new FeatureView(sae.Id, index);
            });

        Field<NonNullGraphType<ListGraphType<NonNullGraphType<FeatureStatsType>>>>("normalizationStats")
            .Description("The normalization statistics in effect (what analyzeSequence(normalize: true) uses), each with its source; or those of `source`. "
                + "With no statistics at all: the corpus's (all never active). See normalizationSources to compare every source side by side.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("indices")
            .Argument<NormalizationSourceType>("source", a => a.Description = "A specific source instead of the one in effect (BAD_USER_INPUT when the SAE does not have it).")
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var (sae, indices) = await RequireStatsArgumentsAsync(c);
                var corpus = (await queries.GetCorpusStatisticsAsync(sae.Id, indices)).Features;
                NormalizationSourceStatistics? chosen;
                if (c.GetArgument<NormalizationSource?>("source") is { } wanted)
                {
                    var sources = await queries.GetNormalizationSourcesAsync(sae);
                    chosen = Array.Find(sources, x => x.Source == wanted) ?? throw PlatformError.BadInput(
                        $"Argument 'source': SAE '{sae.Id}' has no {NormalizationPrecedence.Name(wanted)} statistics; available: "
                        + (sources.Length == 0 ? "none" : string.Join(", ", sources.Select(x => NormalizationPrecedence.Name(x.Source)))) + ".");
                }
                else
                {
                    var inEffect = await queries.GetNormalizationAsync(sae);
                    chosen = inEffect.Stats is null ? null : new NormalizationSourceStatistics(inEffect.Source, inEffect.Stats, inEffect.CorpusSize, inEffect.ImportedFrom);
                }
                return chosen is null || chosen.Source == NormalizationSource.Corpus
                    ? corpus.Select(FeatureStatsView.FromCorpus).ToArray()
                    : corpus.Select(f => FeatureStatsView.FromSource(f, chosen.Stats, chosen.Source)).ToArray();
            });

        Field<NonNullGraphType<ListGraphType<NonNullGraphType<NormalizationSourceStatsType>>>>("normalizationSources")
            .Description("Every source of normalization statistics the SAE has (default order: imported, checkpoint, corpus), side by side, with the one in effect marked.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("indices")
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var (sae, indices) = await RequireStatsArgumentsAsync(c);
                var corpus = (await queries.GetCorpusStatisticsAsync(sae.Id, indices)).Features;
                var inEffect = await queries.GetNormalizationAsync(sae, withStatistics: false);
                return (await queries.GetNormalizationSourcesAsync(sae)).Select(source => new NormalizationSourceView(
                    source, source.Source == inEffect.Source, source.Source == inEffect.Chosen,
                    source.Source == NormalizationSource.Corpus
                        ? corpus.Select(FeatureStatsView.FromCorpus).ToArray()
                        : corpus.Select(f => FeatureStatsView.FromSource(f, source.Stats, source.Source)).ToArray())).ToArray();
            });

        Field<JobType>("job")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c => await c.Queries().GetJobAsync(c.GetArgument<string>("id")));
        CurationAndSearchFields.AddQueries(this);
        ScreeningFields.AddQueries(this);
    }

    private static async Task<(SaeDescriptor Sae, int[] Indices)> RequireStatsArgumentsAsync(IResolveFieldContext c)
    {
        var queries = c.Queries();
        var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
        var indices = c.GetArgument<int[]>("indices") ?? [];
        if (indices.Length > queries.Options.MaxPageSize)
            throw PlatformError.BadInput($"Argument 'indices' holds {indices.Length} indices; at most {queries.Options.MaxPageSize} are allowed per call.");
        foreach (var index in indices) FeaturePlatformQueries.RequireIndex(sae, index, "indices");
        return (sae, indices);
    }
}

public sealed class MutationType : ObjectGraphType
{
    public MutationType()
    {
        Name = "Mutation";
        Field<NonNullGraphType<JobType>>("indexCorpus")
            .Description("admin. Indexes a FASTA or UniProt file (plain or gzip) on the server's disk into the SAE's corpus; idempotent by sequence id.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<StringGraphType>>("fastaPath")
            .Argument<NonNullGraphType<IntGraphType>>("topExamples", a => a.DefaultValue = 20)
            .Argument<NonNullGraphType<InvalidRecordPolicyType>>("onInvalidRecord", a =>
            {
                a.DefaultValue = InvalidRecordPolicy.Skip;
                a.Description = "SKIP: a record that cannot be indexed (malformed, refused by the sequence rule, too long) is skipped and reported in the job; FAIL: the job fails at the first one, naming it.";
            })
            .Argument<NonNullGraphType<OverLongPolicyType>>("onOverLong", a =>
            {
                a.DefaultValue = OverLongPolicy.Skip;
                a.Description = "Proteins over Esmc:Inference:MaxTokens: SKIP (reported) or WINDOW (overlapping windows merged per residue; a departure from the reference).";
            })
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Admin, "indexCorpus");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                return await queries.StartIndexingAsync(sae, c.GetArgument<string>("fastaPath"), c.GetArgument<int>("topExamples"), user.Caller, queries.Options.MaxPageSize,
                    c.GetArgument<InvalidRecordPolicy>("onInvalidRecord"), c.GetArgument<OverLongPolicy>("onOverLong"));
            });

        Field<NonNullGraphType<SaeType>>("importNormalizationStats")
            .Description("admin. Imports published per-feature max and idf for an SAE from a JSON file on the server's disk: {\"max\": [...], \"idf\": [...]}, one value per feature. "
                + "Imported statistics come first in the default order; the result's normalizationSource and normalizationExplanation say which source is in effect now (an admin's setNormalizationSource choice still wins).")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "importNormalizationStats");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                await queries.ImportStatisticsAsync(sae, c.GetArgument<string>("path"));
                return sae;
            });

        Field<NonNullGraphType<SaeType>>("setNormalizationSource")
            .Description("admin. Chooses the source of normalization statistics for an SAE (CHECKPOINT, IMPORTED or CORPUS; it must exist); null returns to the default order (imported, then real checkpoint statistics, then corpus statistics).")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NormalizationSourceType>("source")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "setNormalizationSource");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                await queries.ChooseNormalizationSourceAsync(sae, c.GetArgument<NormalizationSource?>("source"));
                return sae;
            });

        Field<NonNullGraphType<JobType>>("importFeatureDataset")
            .Description("admin. Imports a published feature dataset (a parquet file or a folder of them on the server's disk, e.g. biohub/ESMC-SAE-Features) into the SAE: "
                + "descriptions as PROPOSED versions with source IMPORTED, UniRef90 max/idf as imported normalization statistics, category, activation pattern and "
                + "exemplar families as searchable fields, reference examples and published neighbours. Columns are matched by name. Re-importing changes nothing. "
                + "A job (kind IMPORT_FEATURE_DATASET) that resumes after a lost silo.")
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<StringGraphType>>("path")
            .Argument<StringGraphType>("dataset", "Dataset named in provenance. Default: biohub/ESMC-SAE-Features.")
            .Argument<StringGraphType>("revision", "Revision named in provenance. Default: the commit recorded by esmc pull beside the file, if any.")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Admin, "importFeatureDataset");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                return await queries.StartFeatureImportAsync(sae, c.GetArgument<string>("path"), c.GetArgument<string?>("dataset"), c.GetArgument<string?>("revision"), user.Caller);
            });
        CurationAndSearchFields.AddMutations(this);
    }
}

public sealed class PlatformSchema : Schema
{
    public PlatformSchema(IServiceProvider services) : base(services)
    {
        Query = new QueryType();
        Mutation = new MutationType();
    }
}
