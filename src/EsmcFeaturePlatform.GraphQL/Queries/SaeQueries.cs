using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Query.saes: the SAEs this server serves.</summary>
internal static class SaeQueries
{
    public static void Add(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<ListGraphType<NonNullGraphType<SaeType>>>>("saes")
            .Description("Every SAE the silos serve (each a layer of a base model with its sparse autoencoder). Empty while the silos are still loading models.")
            .ResolveAsync(async c => (await c.Queries().GetCatalogAsync()).Saes);
    }
}
