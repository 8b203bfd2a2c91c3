using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class OverLongPolicyType : EnumerationGraphType
{
    public OverLongPolicyType()
    {
        Name = "OverLongPolicy";
        Description = "What indexCorpus does with a protein longer than the encoder accepts (Esmc:Inference:MaxTokens).";
        Add("SKIP", OverLongPolicy.Skip, "Skip proteins over Esmc:Inference:MaxTokens and report them (the default).");
        Add("WINDOW", OverLongPolicy.Window,
            "Encode them as overlapping windows of the longest accepted length; each residue takes its features from the window where it has the most context. A departure from the reference, which never sees more than the limit at once.");
    }
}
