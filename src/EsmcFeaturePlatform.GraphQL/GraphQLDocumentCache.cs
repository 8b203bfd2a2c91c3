using EsmcFeaturePlatform.Abstractions.Caching;
using GraphQL;
using GraphQL.DI;
using GraphQLParser.AST;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// Parsed and validated documents by query text. Programs send the same query text with new variables, so a repeated
/// request skips parsing and static validation (a sixth of a cached search's CPU before). Only documents that passed
/// validation are kept; rules registered for cached documents (the complexity limits) still run on every request.
/// The same idea as GraphQL.MemoryCache's MemoryDocumentCache, which is not served here.
/// </summary>
internal sealed class GraphQLDocumentCache : IConfigureExecution
{
    /// <summary>Documents kept; when more arrive, the cache starts over (the frequent ones come back at once).</summary>
    public const int Capacity = 1_000;
    /// <summary>Longer query texts are not kept: they are rare, and a few would hold a lot of memory.</summary>
    public const int MaxQueryLength = 20_000;

    private readonly StartOverCache<GraphQLDocument> documents = new(Capacity);

    // After the option and validation-rule configurations (100), like MemoryDocumentCache.
    public float SortOrder => 200;

    public async Task<ExecutionResult> ExecuteAsync(ExecutionOptions options, ExecutionDelegate next)
    {
        if (options.Document is not null || options.Query is not { Length: <= MaxQueryLength } query) return await next(options);
        var hit = documents.TryGet(query, out var document);
        if (hit)
        {
            options.Document = document;
            options.ValidationRules = options.CachedDocumentValidationRules ?? [];
        }
        var result = await next(options);
        if (!hit && result.Executed && result.Document is { } validated) documents.Add(query, validated);
        return result;
    }
}
