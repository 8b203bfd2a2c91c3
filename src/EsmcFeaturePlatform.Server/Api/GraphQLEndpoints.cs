using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.GraphQL;
using EsmcFeaturePlatform.Server.Hosting;
using GraphQL;
using GraphQL.Transport;
using GraphQL.Types;
using GraphQL.Validation;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Server.Api;

public static class GraphQLEndpoints
{
    public static IHostApplicationBuilder AddEsmcGraphQLApi(this IHostApplicationBuilder builder)
    {
        builder.AddEsmcAuthentication();
        builder.AddEsmcServerFiles();
        builder.Services.AddEsmcGraphQL(builder.Configuration, exposeInternals: builder.Environment.IsDevelopment());
        return builder;
    }

    /// <summary>
    /// POST and GET /graphql as the README's "GraphQL API" says (GraphQL over HTTP; hand-written over IDocumentExecuter:
    /// GraphQL.Server is not available; graphql-http's audit suite checks it, GraphQLOverHttpTests), GET /graphql/sdl (GET /healthz: ServiceDefaults).
    /// </summary>
    public static WebApplication MapEsmcEndpoints(this WebApplication app, bool hostsApi)
    {
        if (!hostsApi) return app;
        app.MapGet("/graphql/sdl", (ISchema schema) => Results.Text(schema.PrintSdl(), "text/plain; charset=utf-8"));
        app.MapGet("/graphql", HandleGetAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        app.MapPost("/graphql", HandlePostAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        return app;
    }

    /// <summary>
    /// GET /graphql?query=&amp;operationName=&amp;variables=&amp;extensions= (GraphQL over HTTP, "GET"): queries only; a
    /// mutation is refused with 405 before it runs (<see cref="QueriesOnlyOverGet"/>). Variables and extensions are JSON
    /// text; an empty parameter is the same as none.
    /// </summary>
    private static async Task HandleGetAsync(HttpContext http, IDocumentExecuter<ISchema> executer, IGraphQLTextSerializer serializer,
        FeaturePlatformQueries queries, ILoggerFactory loggers)
    {
        if (GraphQLMediaTypes.Negotiate(http.Request) is not { } media)
        {
            await WriteNotAcceptableAsync(http);
            return;
        }
        var parameters = http.Request.Query;
        if (Single(parameters, "query") is not { Length: > 0 } query)
        {
            if (parameters.ContainsKey("query")) await WriteBadRequestAsync(http, "Query parameter 'query' must be given once and hold a GraphQL document.");
            else
            {
                // Nothing to run: someone found the address; tell them how to call it.
                http.Response.Headers.Allow = "POST";
                await ApiErrors.WriteAsync(http, StatusCodes.Status405MethodNotAllowed, ErrorCodes.BadUserInput,
                    "POST /graphql with a JSON body {\"query\", \"variables\"} (Content-Type: application/json), or GET /graphql?query=... for queries; "
                    + "the schema is GET /graphql/sdl, and a browser opening /graphql gets the GraphQL IDE.");
            }
            return;
        }
        var request = new GraphQLRequest { Query = query };
        foreach (var name in new[] { "operationName", "variables", "extensions" })
        {
            if (parameters.TryGetValue(name, out var values) && values.Count > 1)
            {
                await WriteBadRequestAsync(http, $"Query parameter '{name}' is given {values.Count} times; give it once.");
                return;
            }
        }
        request.OperationName = Single(parameters, "operationName") is { Length: > 0 } operation ? operation : null;
        try
        {
            request.Variables = Single(parameters, "variables") is { Length: > 0 } variables ? serializer.Deserialize<Inputs>(variables) : null;
            request.Extensions = Single(parameters, "extensions") is { Length: > 0 } extensions ? serializer.Deserialize<Inputs>(extensions) : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            await WriteBadRequestAsync(http, InputExcerpt.Bound($"Query parameters 'variables' and 'extensions' must be JSON objects: {ex.Message}"));
            return;
        }
        await ExecuteAsync(http, request, media, overGet: true, executer, serializer, queries, loggers);
    }

    /// <summary>POST /graphql with a JSON body (GraphQL over HTTP, "POST"): queries and mutations.</summary>
    private static async Task HandlePostAsync(HttpContext http, IDocumentExecuter<ISchema> executer, IGraphQLTextSerializer serializer,
        IOptions<ApiOptions> api, FeaturePlatformQueries queries, ILoggerFactory loggers)
    {
        if (GraphQLMediaTypes.Negotiate(http.Request) is not { } media)
        {
            await WriteNotAcceptableAsync(http);
            return;
        }
        if (GraphQLMediaTypes.RefuseContentType(http.Request) is { } unsupported)
        {
            await ApiErrors.WriteAsync(http, StatusCodes.Status415UnsupportedMediaType, ErrorCodes.BadUserInput, unsupported);
            return;
        }
        var max = api.Value.MaxRequestBytes;
        if (http.Request.ContentLength > max)
        {
            await ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BadUserInput, $"Request body is larger than {max} bytes.");
            return;
        }
        var body = await ReadLimitedAsync(http.Request.BodyReader, max, http.RequestAborted);
        if (body is not { } read)
        {
            await ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BadUserInput, $"Request body is larger than {max} bytes.");
            return;
        }
        GraphQLRequest? request;
        try
        {
            request = read.Length == 0 ? null : await serializer.ReadAsync<GraphQLRequest>(new MemoryStream(read.Bytes, 0, read.Length, writable: false), http.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            await WriteBadRequestAsync(http, InputExcerpt.Bound($"Request body is not a GraphQL request in JSON ({{\"query\", \"variables\", \"operationName\"}}): {ex.Message}"));
            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(read.Bytes);
        }
        if (request is null || string.IsNullOrWhiteSpace(request.Query))
        {
            await WriteBadRequestAsync(http, read.Length == 0 ? "Request body is empty; send {\"query\": \"...\"}." : "Request body has no 'query'.");
            return;
        }
        await ExecuteAsync(http, request, media, overGet: false, executer, serializer, queries, loggers);
    }

    /// <summary>
    /// Runs a well-formed request and answers with the status its media type asks for: with
    /// <c>application/graphql-response+json</c>, 400 for a request that failed before it ran (syntax, validation,
    /// variables, limits) and 200 once it ran; with <c>application/json</c> (legacy clients) 200 either way. Both: 405
    /// for a mutation over GET, 429 when the rate limit refused the request's cost.
    /// </summary>
    private static async Task ExecuteAsync(HttpContext http, GraphQLRequest request, string media, bool overGet,
        IDocumentExecuter<ISchema> executer, IGraphQLTextSerializer serializer, FeaturePlatformQueries queries, ILoggerFactory loggers)
    {
        var limiter = http.RequestServices.GetService<CostRateLimiter>();
        var user = new PlatformUserContext
        {
            Caller = http.GetCaller(),
            Loaders = new FeatureLoaders(queries),
            ChargeCost = limiter is null ? null : cost => limiter.Charge(http, cost),
            ClientAddress = http.Connection.RemoteIpAddress?.ToString(),
        };
        var options = new ExecutionOptions
        {
            Query = request.Query,
            Variables = request.Variables,
            Extensions = request.Extensions,
            OperationName = request.OperationName,
            RequestServices = http.RequestServices,
            UserContext = user,
            CancellationToken = http.RequestAborted,
            UnhandledExceptionDelegate = context =>
            {
                if (context.OriginalException is not (PlatformError or OperationCanceledException))
                    loggers.CreateLogger("EsmcFeaturePlatform.GraphQL").LogError(context.OriginalException, "Unhandled error in {Field}", context.FieldContext?.FieldDefinition.Name);
                return Task.CompletedTask;
            },
        };
        if (overGet)
        {
            // Also for documents from the document cache, which skip every other rule (a mutation POSTed before is cached).
            options.ValidationRules = DocumentValidator.CoreRules.Append(QueriesOnlyOverGet.Instance);
            options.CachedDocumentValidationRules = [QueriesOnlyOverGet.Instance];
        }
        var result = await executer.ExecuteAsync(options);

        http.Response.StatusCode = StatusCodes.Status200OK;
        if (user.RetryAfter is { } retryAfter)
        {
            // The request's cost did not fit the caller's rate limit: answered like the middleware's own refusal.
            http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            ApiErrors.SetRetryAfter(http, retryAfter);
        }
        else if (overGet && result.Errors?.Any(e => e is QueriesOnlyOverGet.Error) == true)
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            http.Response.Headers.Allow = "POST";
        }
        else if (!result.Executed && media == GraphQLMediaTypes.GraphQLResponse)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        http.Response.ContentType = media + "; charset=utf-8";
        await serializer.WriteAsync(http.Response.Body, result, http.RequestAborted);
    }

    private static string? Single(IQueryCollection parameters, string name) =>
        parameters.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null;

    /// <summary>A request that is not a well-formed GraphQL-over-HTTP request (bad JSON, a parameter of the wrong type, no query).</summary>
    private static Task WriteBadRequestAsync(HttpContext http, string message) =>
        ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, message);

    private static Task WriteNotAcceptableAsync(HttpContext http) =>
        ApiErrors.WriteAsync(http, StatusCodes.Status406NotAcceptable, ErrorCodes.BadUserInput,
            $"This endpoint answers {GraphQLMediaTypes.GraphQLResponse} or {ApiErrors.Json}; the Accept header allows neither.");

    /// <summary>
    /// The whole body in a pooled array (return it to <see cref="ArrayPool{T}.Shared"/>), or null once it passes
    /// <paramref name="max"/> bytes: chunked bodies have no Content-Length to check up front. Read from the pipe so
    /// that a request allocates nothing but the array it is parsed from.
    /// </summary>
    internal static async Task<(byte[] Bytes, int Length)?> ReadLimitedAsync(PipeReader body, int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            if (buffer.Length > max)
            {
                body.AdvanceTo(buffer.End);
                return null;
            }
            if (read.IsCanceled) throw new OperationCanceledException("Reading the request body was canceled.");
            if (read.IsCompleted)
            {
                var length = (int)buffer.Length;   // read before AdvanceTo hands the segments back
                var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
                buffer.CopyTo(bytes);
                body.AdvanceTo(buffer.End);
                return (bytes, length);
            }
            body.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
