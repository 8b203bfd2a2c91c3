using EsmcFeaturePlatform.Abstractions;
using GraphQL.Validation;
using GraphQLParser.AST;
using Microsoft.Net.Http.Headers;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// The media types of GraphQL over HTTP (README, "GraphQL API"; checked by graphql-http's audits in
/// GraphQLOverHttpTests): requests are <c>application/json</c> in UTF-8; answers are
/// <c>application/graphql-response+json</c>, whose status codes tell a request that failed before it ran (4xx) from
/// one that ran, or <c>application/json</c> for legacy clients, which get 200 for both.
/// </summary>
public static class GraphQLMediaTypes
{
    public const string GraphQLResponse = "application/graphql-response+json";

    /// <summary>
    /// The media type to answer in, from the Accept header: the acceptable one with the highest q; on a tie a type
    /// named exactly beats one only a wildcard covers, and then <see cref="GraphQLResponse"/> beats
    /// <c>application/json</c>. No Accept header, or only wildcards: <c>application/json</c>, which every client reads
    /// (the spec's default until all clients name their type). Null: neither is acceptable (406).
    /// </summary>
    public static string? Negotiate(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0) return ApiErrors.Json;
        var (graphQL, graphQLExact) = Quality(accept, GraphQLResponse);
        var (json, _) = Quality(accept, ApiErrors.Json);
        if (graphQL <= 0 && json <= 0) return null;
        if (graphQL != json) return graphQL > json ? GraphQLResponse : ApiErrors.Json;
        return graphQLExact ? GraphQLResponse : ApiErrors.Json;
    }

    /// <summary>
    /// The q that <paramref name="mediaType"/> gets from the most specific range that covers it (as HTTP ranks them), and
    /// whether that range names it exactly.
    /// </summary>
    private static (double Quality, bool Exact) Quality(IList<MediaTypeHeaderValue> accept, string mediaType)
    {
        var (quality, specificity) = (0.0, -1);
        var type = mediaType[..mediaType.IndexOf('/')];
        foreach (var range in accept)
        {
            var name = range.MediaType.Value ?? "";
            var rangeSpecificity = name.Equals(mediaType, StringComparison.OrdinalIgnoreCase) ? 2
                : name.Equals(type + "/*", StringComparison.OrdinalIgnoreCase) ? 1
                : name == "*/*" ? 0
                : -1;
            if (rangeSpecificity <= specificity) continue;
            (quality, specificity) = (range.Quality ?? 1.0, rangeSpecificity);
        }
        return (quality, specificity == 2);
    }

    /// <summary>
    /// Why a POST's Content-Type is refused (415), or null for <c>application/json</c> in UTF-8 (no charset is UTF-8).
    /// A POST without one is refused too rather than guessed at, so clients learn to send it.
    /// </summary>
    public static string? RefuseContentType(HttpRequest request)
    {
        const string needed = "POST /graphql needs Content-Type: application/json (UTF-8)";
        if (string.IsNullOrWhiteSpace(request.ContentType)) return needed + "; the request has no Content-Type.";
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals(ApiErrors.Json, StringComparison.OrdinalIgnoreCase))
            return needed + $"; got {InputExcerpt.Quote(request.ContentType)}.";
        if (type.Charset is { Length: > 0 } charset && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
            return needed + $"; got the charset {InputExcerpt.Quote(charset.ToString())}.";
        return null;
    }
}

/// <summary>
/// GET runs queries only (a safe method must change nothing, and a link or a prefetch can send one): a mutation or
/// subscription over GET fails validation with <see cref="Error"/>, which the endpoint answers with 405 and <c>Allow: POST</c>.
/// </summary>
public sealed class QueriesOnlyOverGet : ValidationRuleBase
{
    public static QueriesOnlyOverGet Instance { get; } = new();

    public override ValueTask<INodeVisitor?> GetPreNodeVisitorAsync(ValidationContext context)
    {
        if (context.Operation.Operation != OperationType.Query)
            context.ReportError(new Error(context, context.Operation));
        return default;
    }

    public sealed class Error(ValidationContext context, GraphQLOperationDefinition operation) : ValidationError(
        context.Document.Source, "GET", $"GET /graphql runs queries only; send this {operation.Operation.ToString().ToLowerInvariant()} with POST.", operation);
}
