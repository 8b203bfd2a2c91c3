using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>A reference protein named by a dataset, with the UniProt page it links to.</summary>
public sealed record ReferenceExampleView(string Id, string Database)
{
    /// <summary>UniRef90 cluster ids (UniRef90_...) open the cluster page; other ids are UniProtKB accessions.</summary>
    public string Url => Database == "UNIREF90"
        ? $"https://www.uniprot.org/uniref/{Uri.EscapeDataString(Id)}"
        : $"https://www.uniprot.org/uniprotkb/{Uri.EscapeDataString(Id)}/entry";
}

public sealed class ReferenceExampleType : ObjectGraphType<ReferenceExampleView>
{
    public ReferenceExampleType()
    {
        Name = "ReferenceExample";
        Description = "A protein a published dataset names as an example of a feature.";
        Field<NonNullGraphType<StringGraphType>>("id").Description("A UniRef90 cluster id (UniRef90_...) or a UniProtKB accession.").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("database").Description("UNIREF90 or SWISSPROT.").Resolve(c => c.Source.Database);
        Field<NonNullGraphType<StringGraphType>>("url").Description("The protein's or cluster's page on uniprot.org.").Resolve(c => c.Source.Url);
    }
}
