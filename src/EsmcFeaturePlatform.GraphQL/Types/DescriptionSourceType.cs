using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class DescriptionSourceType : EnumerationGraphType<DescriptionSource>
{
    public DescriptionSourceType()
    {
        Name = "DescriptionSource";
        Description = "Who wrote a description version.";
        Values.FindByName("AGENT")!.Description = "The description agent (a language model reading the feature's evidence; describeFeatures with Esmc:Agent:Endpoint set).";
        Values.FindByName("EVIDENCE")!.Description = "The evidence-only describer: built from annotation enrichment and residue statistics alone, with no language model (describeFeatures without Esmc:Agent:Endpoint); never scored.";
        Values.FindByName("HUMAN")!.Description = "A curator (proposeDescription).";
        Values.FindByName("IMPORTED")!.Description = "A published feature dataset (importFeatureDataset); see provenance.";
    }
}
