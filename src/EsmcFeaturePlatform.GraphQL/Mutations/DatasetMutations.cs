using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Mutation.importFeatureDataset: importing a published feature dataset.</summary>
internal static class DatasetMutations
{
    public static void Add(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<JobType>>("importFeatureDataset")
            .Description("admin. Imports a published feature dataset (a parquet file or a folder of them on the server's disk, e.g. biohub/ESMC-SAE-Features) into the SAE: "
                + "descriptions as PROPOSED versions with source IMPORTED, UniRef90 max/idf as imported normalization statistics, category, activation pattern and "
                + "exemplar families as searchable fields, reference examples and published neighbours. Columns are matched by name. Re-importing changes nothing. "
                + "A job (kind IMPORT_FEATURE_DATASET) that resumes after a lost silo.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id) the dataset describes (its rows' feature indices must fit the codebook).")
            .Argument<NonNullGraphType<StringGraphType>>("path", "A parquet file or a folder of them on the server, under one of the corpus roots.")
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
    }
}
