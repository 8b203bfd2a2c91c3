using GraphQL;
using GraphQL.Types;
using GraphQL.Validation.Complexity;
using GraphQL.Validation.Rules.Custom;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.GraphQL;

public static class GraphQLServiceCollectionExtensions
{
    /// <summary>The schema, executer, limits and error mapping; hosts add the HTTP endpoint and authentication.</summary>
    public static IServiceCollection AddEsmcGraphQL(this IServiceCollection services, IConfiguration configuration, bool exposeInternals)
    {
        // The limits shape the executer built here, so they are read (and checked) now; services get the same instance.
        var api = services.BindValidatedOptions<ApiOptions>(configuration);
        services.AddValidatedOptions<CurationOptions>(configuration);
        services.AddSingleton<FeaturePlatformQueries>();
        services.AddGraphQL(b => b
            .AddSchema<PlatformSchema>()
            .AddGraphTypes(typeof(PlatformSchema).Assembly)
            .AddSystemTextJson()
            .AddErrorInfoProvider(new PlatformErrorInfoProvider(exposeInternals))
            // A read that meets a grain still activating (e.g. after a cold restart) is tried once more (TransientReads).
            .UseMiddleware(new TransientReadRetry())
            // The complexity analyzer as a rule that also runs on cached documents: its limits may depend on variables.
            .AddValidationRule(new ComplexityValidationRule(new ComplexityOptions { MaxDepth = api.MaxDepth, MaxComplexity = api.MaxComplexity }),
                useForCachedDocuments: true)
            .ConfigureExecution(new GraphQLDocumentCache())
            .ConfigureExecution(new RequestLimitsExecution(api)));
        return services;
    }

    /// <summary>The SDL the API serves and <c>schemas/</c> holds.</summary>
    public static string PrintSdl(this ISchema schema) => schema.Print().ReplaceLineEndings("\n").TrimEnd() + "\n";
}
