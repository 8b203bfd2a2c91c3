using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record ReviewQueueEdgeView(string Cursor, FeatureView Node, CurationEntry Entry);

public sealed class ReviewQueueEdgeType : ObjectGraphType<ReviewQueueEdgeView>
{
    public ReviewQueueEdgeType()
    {
        Name = "ReviewQueueEdge";
        Description = "One feature in the review queue.";
        Field<NonNullGraphType<StringGraphType>>("cursor").Description("Opaque position of this feature; pass as `after` to continue after it.").Resolve(c => c.Source.Cursor);
        Field<NonNullGraphType<FeatureType>>("node").Description("The feature.").Resolve(c => c.Source.Node);
        Field<NonNullGraphType<IntGraphType>>("latestVersion").Description("The number of the feature's latest description version.").Resolve(c => c.Source.Entry.LatestVersion);
        Field<NonNullGraphType<DescriptionSourceType>>("latestSource").Description("Who wrote the latest version.").Resolve(c => c.Source.Entry.LatestSource);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<IntGraphType>>>>("pendingVersions")
            .Description("Every version of the feature still PROPOSED, oldest first.")
            .Resolve(c => c.Source.Entry.Pending);
    }
}
