using GraphQL.Types;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>The root query type; its fields are added by area (Queries/), in the order the committed SDL lists them.</summary>
public sealed class QueryType : ObjectGraphType
{
    public QueryType()
    {
        Name = "Query";
        Description = "Reading the platform: SAEs, sequence analyses, features and their statistics, jobs, search, the review queue and the screening log.";
        SaeQueries.Add(this);
        AnalysisQueries.Add(this);
        FeatureQueries.Add(this);
        NormalizationQueries.Add(this);
        JobQueries.Add(this);
        SearchQueries.Add(this);
        CurationQueries.Add(this);
        ScreeningQueries.Add(this);
    }
}

/// <summary>The root mutation type; its fields are added by area (Mutations/), in the order the committed SDL lists them.</summary>
public sealed class MutationType : ObjectGraphType
{
    public MutationType()
    {
        Name = "Mutation";
        Description = "Changing the platform: indexing, normalization statistics, dataset imports, curation of descriptions and the search index. Each names the role it needs.";
        IndexingMutations.Add(this);
        NormalizationMutations.Add(this);
        DatasetMutations.Add(this);
        CurationMutations.Add(this);
        SearchMutations.Add(this);
    }
}

public sealed class PlatformSchema : Schema
{
    public PlatformSchema(IServiceProvider services) : base(services)
    {
        Query = new QueryType();
        Mutation = new MutationType();
    }
}
