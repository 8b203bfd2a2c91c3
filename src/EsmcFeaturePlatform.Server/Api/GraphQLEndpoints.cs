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
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Server.Api;

public static class GraphQLEndpoints
{
    public static IHostApplicationBuilder AddEsmcGraphQLApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection(AuthOptions.SectionName))
            .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.AddEsmcServerFiles();
        builder.Services.AddEsmcGraphQL(builder.Configuration, exposeInternals: builder.Environment.IsDevelopment());
        return builder;
    }

    /// <summary>POST /graphql (hand-written over IDocumentExecuter: GraphQL.Server is not available), GET /graphql/sdl, GET /healthz.</summary>
    public static WebApplication MapEsmcEndpoints(this WebApplication app, bool hostsApi)
    {
        app.MapGet("/healthz", async (IGrainFactory grains, IScreeningPolicy screening, Hosting.ModelPuller puller, CancellationToken cancellationToken) =>
        {
            // While models are pulled on start (Esmc:Models:Pull) the catalog cannot load yet: say so instead of waiting.
            if (puller.Status is "pending" or "pulling")
                return Results.Json(new { status = "pulling", detail = puller.Detail }, statusCode: StatusCodes.Status503ServiceUnavailable);
            if (puller.Status == "failed")
                return Results.Json(new { status = "pull failed", detail = puller.Detail }, statusCode: StatusCodes.Status503ServiceUnavailable);
            // What is screened, so an operator sees at a glance that sequence screening is off without a database.
            var status = screening.Status;
            var safety = new
            {
                sequences = status.SequenceScreening ? "on" : "off",
                sequenceEntries = status.SequenceEntries,
                keywords = status.KeywordScreening ? "on" : "off",
                keywordCount = status.Keywords,
                action = status.Action,
                summary = status.Summary,
            };
            try
            {
                var catalog = await grains.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
                return Results.Json(new { status = "ok", saes = catalog.Saes.Length, screening = safety });
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return Results.Json(new { status = "unavailable", screening = safety }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        if (!hostsApi) return app;
        app.MapGet("/graphql/sdl", (ISchema schema) => Results.Text(schema.PrintSdl(), "text/plain; charset=utf-8"));
        app.MapPost("/graphql", HandleAsync);
        return app;
    }

    private static async Task HandleAsync(
        HttpContext http, IDocumentExecuter<ISchema> executer, IGraphQLTextSerializer serializer,
        ApiKeyAuthenticator authenticator, IOptions<ApiOptions> api, FeaturePlatformQueries queries, ILoggerFactory loggers)
    {
        var max = api.Value.MaxRequestBytes;
        if (http.Request.ContentLength > max)
        {
            await WriteErrorAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BadUserInput, $"Request body is larger than {max} bytes.");
            return;
        }
        var (outcome, caller) = authenticator.Authenticate(http.Request.Headers.Authorization);
        if (outcome is AuthOutcome.InvalidKey or AuthOutcome.MalformedHeader)
        {
            var why = outcome == AuthOutcome.InvalidKey ? "The API key is not valid." : "The Authorization header must be 'Bearer KEY'.";
            await WriteErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated, why);
            return;
        }
        if (outcome == AuthOutcome.Anonymous && !authenticator.AllowAnonymousReads)
        {
            await WriteErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated, "This server needs an API key (Authorization: Bearer KEY).");
            return;
        }

        var body = await ReadLimitedAsync(http.Request.BodyReader, max, http.RequestAborted);
        if (body is not { } read)
        {
            await WriteErrorAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BadUserInput, $"Request body is larger than {max} bytes.");
            return;
        }
        GraphQLRequest? request;
        try
        {
            request = await serializer.ReadAsync<GraphQLRequest>(new MemoryStream(read.Bytes, 0, read.Length, writable: false), http.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, InputExcerpt.Bound($"Request body is not a GraphQL request in JSON ({{\"query\", \"variables\", \"operationName\"}}): {ex.Message}"));
            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(read.Bytes);
        }
        if (request is null || string.IsNullOrWhiteSpace(request.Query))
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, "Request body has no 'query'.");
            return;
        }

        var limiter = http.RequestServices.GetService<CostRateLimiter>();
        var user = new PlatformUserContext
        {
            Caller = caller,
            Loaders = new FeatureLoaders(queries),
            ChargeCost = limiter is null ? null : cost => limiter.Charge(http, cost),
            ClientAddress = http.Connection.RemoteIpAddress?.ToString(),
        };
        var result = await executer.ExecuteAsync(new ExecutionOptions
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
        });
        http.Response.StatusCode = StatusCodes.Status200OK;
        if (user.RetryAfter is { } retryAfter)
        {
            // The request's cost did not fit the caller's rate limit: answered like the middleware's own refusal.
            http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        http.Response.ContentType = "application/json; charset=utf-8";
        await serializer.WriteAsync(http.Response.Body, result, http.RequestAborted);
    }

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

    private static Task WriteErrorAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new { errors = new[] { new { message, extensions = new { code } } } });
    }
}
