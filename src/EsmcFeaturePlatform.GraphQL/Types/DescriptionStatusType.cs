using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class DescriptionStatusType : EnumerationGraphType<DescriptionStatus>
{
    public DescriptionStatusType()
    {
        Name = "DescriptionStatus";
        Description = "Where a description version stands in review.";
        Values.FindByName("PROPOSED")!.Description = "Awaiting review (every new version starts here).";
        Values.FindByName("APPROVED")!.Description = "A curator approved it; the latest approved version is the feature's description.";
        Values.FindByName("REJECTED")!.Description = "A curator rejected it; it stays in the history.";
    }
}
