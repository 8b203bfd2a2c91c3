using EsmcFeaturePlatform.Abstractions;
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
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var normalize = c.GetArgument<bool>("normalize");
                NormalizationStats? stats = null;
                if (normalize)
                {
                    (stats, _) = await queries.GetNormalizationAsync(sae);
                    if (stats is null)
                        throw PlatformError.BadInput($"SAE '{sae.Id}' has no normalization statistics: its checkpoint statistics are placeholders, none were imported and no corpus was indexed. Ask with normalize: false, or index a corpus first.");
                }
                var encoded = await queries.AnalyzeAsync(sae, c.GetArgument<string>("sequence"));
                var residues = encoded.Residues
                    .Select(row => (stats is null ? row : FeatureMath.Normalize(row, stats)).Select(f => new ActivationView(sae.Id, f.Index, f.Value, null)).ToArray())
                    .ToArray();
                var pooled = (stats is null ? encoded.Pooled : FeatureMath.Normalize(encoded.Pooled, stats))
                    .Select(p => new ActivationView(sae.Id, p.Index, p.Value, p.Position)).ToArray();
                return new SequenceAnalysisView(sae.Id, encoded.Length, residues, pooled);
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
            .Argument<NonNullGraphType<IdGraphType>>("sae")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("indices")
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var indices = c.GetArgument<int[]>("indices") ?? [];
                if (indices.Length > queries.Options.MaxPageSize)
                    throw PlatformError.BadInput($"Argument 'indices' holds {indices.Length} indices; at most {queries.Options.MaxPageSize} are allowed per call.");
                foreach (var index in indices) FeaturePlatformQueries.RequireIndex(sae, index, "indices");
                return (await queries.GetCorpusStatisticsAsync(sae.Id, indices)).Features;
            });

        Field<JobType>("job")
            .Argument<NonNullGraphType<IdGraphType>>("id")
            .ResolveAsync(async c => await c.Queries().GetJobAsync(c.GetArgument<string>("id")));
        CurationAndSearchFields.AddQueries(this);
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
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Admin, "indexCorpus");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                return await queries.StartIndexingAsync(sae, c.GetArgument<string>("fastaPath"), c.GetArgument<int>("topExamples"), user.Caller, queries.Options.MaxPageSize);
            });

        Field<NonNullGraphType<SaeType>>("importNormalizationStats")
            .Description("admin. Imports published per-feature max and idf for an SAE from a JSON file on the server's disk: {\"max\": [...], \"idf\": [...]}, one value per feature. Used for normalization when the checkpoint's own statistics are placeholders.")
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
