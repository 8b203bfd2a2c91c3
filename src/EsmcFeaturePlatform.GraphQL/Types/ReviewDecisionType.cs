using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class ReviewDecisionType : EnumerationGraphType<ReviewDecision>
{
    public ReviewDecisionType()
    {
        Name = "ReviewDecision";
        Description = "A curator's decision on a PROPOSED version.";
        Values.FindByName("APPROVE")!.Description = "Make it APPROVED: it becomes the feature's description.";
        Values.FindByName("REJECT")!.Description = "Make it REJECTED: it stays in the history only.";
    }
}
