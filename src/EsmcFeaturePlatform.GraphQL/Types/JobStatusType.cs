using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class JobStatusType : EnumerationGraphType<JobStatus>
{
    public JobStatusType()
    {
        Name = "JobStatus";
        Description = "Where a job stands.";
        Values.FindByName("QUEUED")!.Description = "Accepted, not started yet.";
        Values.FindByName("RUNNING")!.Description = "In progress (see processed, and waiting when it is held up).";
        Values.FindByName("COMPLETED")!.Description = "Finished; everything it could do is done (skipped records are listed).";
        Values.FindByName("FAILED")!.Description = "Stopped for good; error says why (to roles that may start the job).";
    }
}
