using GraphQL;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.job: progress of a long-running job.</summary>
internal static class JobQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<JobType>("job")
            .Description("A job started by indexCorpus, describeFeatures or importFeatureDataset; null when no job has this id.")
            .Argument<NonNullGraphType<IdGraphType>>("id", "The job id the starting mutation returned (Job.id).")
            .ResolveAsync(async c => await c.Queries().GetJobAsync(c.GetArgument<string>("id")));
    }
}
