using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class JobType : ObjectGraphType<JobInfo>
{
    /// <summary>The role that may start a job of <paramref name="kind"/> (and so read its error); unknown kinds: admin.</summary>
    public static CallerRole RoleToStart(string kind) => kind == JobKinds.DescribeFeatures ? CallerRole.Curator : CallerRole.Admin;

    public JobType()
    {
        Name = "Job";
        Description = "A long-running job (indexCorpus, describeFeatures, importFeatureDataset): poll it with job(id).";
        Field<NonNullGraphType<IdGraphType>>("id").Description("The job id (its prefix names its kind).").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("kind").Description("INDEX_CORPUS, DESCRIBE_FEATURES or IMPORT_FEATURE_DATASET.").Resolve(c => c.Source.Kind);
        Field<NonNullGraphType<IdGraphType>>("sae").Description("The SAE id (Sae.id) the job works on.").Resolve(c => c.Source.SaeId);
        Field<NonNullGraphType<JobStatusType>>("status").Description("QUEUED, RUNNING, COMPLETED or FAILED.").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<IntGraphType>>("processed").Description("Units done so far: records read (INDEX_CORPUS, skipped ones included), features done (DESCRIBE_FEATURES), rows imported (IMPORT_FEATURE_DATASET).").Resolve(c => c.Source.Processed);
        Field<IntGraphType>("total").Description("Units to do, once the job knows (an indexing job counts the file's records first); null until then.").Resolve(c => c.Source.Total);
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
            .Argument<NonNullGraphType<IntGraphType>>("offset", a =>
            {
                a.DefaultValue = 0;
                a.Description = "Skipped records to pass over first (0 or more).";
            })
            .Argument<NonNullGraphType<IntGraphType>>("first", a =>
            {
                a.DefaultValue = 100;
                a.Description = "Records per page, 0 to Esmc:Api:MaxPageSize.";
            })
            .ResolveAsync(async c =>
            {
                var queries = c.Queries();
                var first = queries.RequirePageSize(c.GetArgument<int>("first"), "first");
                var offset = c.GetArgument<int>("offset");
                if (offset < 0) throw PlatformError.BadInput($"Argument 'offset' must not be negative; got {offset}.");
                return await queries.GetSkippedRecordsAsync(c.Source.Id, offset, first);
            });
        Field<NonNullGraphType<IntGraphType>>("screened").Description("indexCorpus: of the skipped records, those the biosecurity screening blocked (reason SCREENED; see screeningEvents).").Resolve(c => c.Source.Screened);
        Field<NonNullGraphType<StringGraphType>>("createdAt").Description("When the job was started (UTC, ISO 8601).").Resolve(c => c.Source.CreatedAt.UtcDateTime.ToString("O"));
        Field<NonNullGraphType<StringGraphType>>("updatedAt").Description("When the job last recorded progress (UTC, ISO 8601).").Resolve(c => c.Source.UpdatedAt.UtcDateTime.ToString("O"));
    }
}
