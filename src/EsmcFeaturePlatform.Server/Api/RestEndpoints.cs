using System.Globalization;
using System.Threading.RateLimiting;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Corpus.FeatureDatasets;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.GraphQL;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>Section <c>Esmc:RateLimit</c>: token buckets per API key and per anonymous client address.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "Esmc:RateLimit";

    public bool Enabled { get; set; } = true;

    /// <summary>Requests per minute per API key; the bucket also holds this many, so a minute's worth may come at once.</summary>
    public int PermitsPerMinute { get; set; } = 6000;

    /// <summary>Requests per minute per anonymous client (remote address).</summary>
    public int AnonymousPermitsPerMinute { get; set; } = 1200;

    public void Validate()
    {
        if (PermitsPerMinute < 1) throw new ArgumentException($"{SectionName}:PermitsPerMinute must be positive; got {PermitsPerMinute}.");
        if (CostPerPermit < 1) throw new ArgumentException($"{SectionName}:CostPerPermit must be positive; got {CostPerPermit}.");
        if (AnonymousPermitsPerMinute < 1) throw new ArgumentException($"{SectionName}:AnonymousPermitsPerMinute must be positive; got {AnonymousPermitsPerMinute}.");
    }

    /// <summary>Cost units (Esmc:Api cost, <c>RequestCost</c>) one permit buys: a GraphQL request costing more takes more permits.</summary>
    public int CostPerPermit { get; set; } = 100;

    /// <summary>One token every 60 s / permits, so the long-run rate is exactly the configured one.</summary>
    public static TimeSpan Period(int permitsPerMinute) => TimeSpan.FromTicks(TimeSpan.FromMinutes(1).Ticks / permitsPerMinute);
}

/// <summary>
/// The token buckets of <see cref="RateLimitOptions"/>, one per API key and one per anonymous client address. Every request
/// takes one permit at the door (the rate-limiting middleware); a GraphQL request then pays for its cost before it runs
/// (<see cref="Charge"/>), one permit per <see cref="RateLimitOptions.CostPerPermit"/> units, so a request that analyzes
/// a thousand sequences uses up the bucket like the thousand requests it replaces.
/// </summary>
public sealed class CostRateLimiter
{
    private readonly RateLimitOptions _options;

    public CostRateLimiter(RateLimitOptions options)
    {
        _options = options;
        Limiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            if (!options.Enabled || http.Request.Path.StartsWithSegments("/healthz")) return RateLimitPartition.GetNoLimiter("unlimited");
            var (partition, permits) = PartitionOf(http);
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = permits,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = RateLimitOptions.Period(permits),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
    }

    public PartitionedRateLimiter<HttpContext> Limiter { get; }

    /// <summary>Takes the permits <paramref name="cost"/> needs beyond the one taken at the door: null when taken, else how long to wait.</summary>
    public TimeSpan? Charge(HttpContext http, long cost)
    {
        if (!_options.Enabled) return null;
        var permits = (cost + _options.CostPerPermit - 1) / _options.CostPerPermit;
        // A request never needs more than a full bucket (Esmc:Api:MaxCost bounds the cost, this the permits).
        var extra = (int)Math.Min(permits - 1, PartitionOf(http).Permits);
        if (extra <= 0) return null;
        using var lease = Limiter.AttemptAcquire(http, extra);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : RateLimitOptions.Period(PartitionOf(http).Permits) * extra;
    }

    /// <summary>
    /// The key's name when the key is valid; anything else (no key, a wrong key) counts against the client address, so
    /// guessing keys cannot buy a fresh bucket per guess.
    /// </summary>
    private (string Partition, int Permits) PartitionOf(HttpContext http)
    {
        var (outcome, caller) = http.RequestServices.GetRequiredService<ApiKeyAuthenticator>().Authenticate(http.Request.Headers.Authorization);
        return outcome == AuthOutcome.Authenticated
            ? ("key:" + caller.Name, _options.PermitsPerMinute)
            : ("anon:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown"), _options.AnonymousPermitsPerMinute);
    }
}

/// <summary>Read-only REST routes under /api/v1 (bulk export, Biohub-alpha-style feature routes) and the rate limiter.</summary>
public static class RestEndpoints
{
    public const int DefaultTopExampleIds = 20;

    public static IHostApplicationBuilder AddEsmcRateLimits(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>() ?? new RateLimitOptions();
        options.Validate();
        var limiter = new CostRateLimiter(options);
        builder.Services.AddSingleton(limiter);
        builder.Services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = limiter.Limiter;
            o.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.Response.WriteAsJsonAsync(new
                {
                    errors = new[] { new { message = $"Rate limit exceeded; retry after {seconds} s (Esmc:RateLimit).", extensions = new { code = ErrorCodes.Overloaded } } },
                }, ct);
            };
        });
        return builder;
    }

    public static WebApplication MapEsmcRestEndpoints(this WebApplication app)
    {
        app.MapGet("/api/v1/saes", async (HttpContext http, FeaturePlatformQueries queries) =>
        {
            if (await RefuseAsync(http)) return;
            var catalog = await queries.GetCatalogAsync();
            await http.Response.WriteAsJsonAsync(new { saes = catalog.Saes.Select(s => new { id = s.Id, model = s.Model, layer = s.Layer, k = s.K, codebookSize = s.CodebookSize, isDemo = s.IsDemo, notice = s.Notice }) });
        });
        // SAE ids hold a '/', so the SAE and what follows are parsed from one catch-all (a '%2F' works too).
        app.MapGet("/api/v1/saes/{**rest}", HandleSaeRouteAsync);
        return app;
    }

    private static async Task HandleSaeRouteAsync(HttpContext http, string rest, FeaturePlatformQueries queries, IOptions<ApiOptions> api)
    {
        if (await RefuseAsync(http)) return;
        var path = Uri.UnescapeDataString(rest ?? "").TrimEnd('/');
        string saeId;
        string tail;
        var at = path.LastIndexOf("/features", StringComparison.Ordinal);
        if (at <= 0)
        {
            await ErrorAsync(http, StatusCodes.Status404NotFound, ErrorCodes.NotFound, "Routes: /api/v1/saes/{sae}/features[.jsonl|.csv|.parquet] and /api/v1/saes/{sae}/features/{index}.");
            return;
        }
        saeId = path[..at];
        tail = path[(at + "/features".Length)..];
        SaeDescriptor sae;
        try
        {
            sae = await queries.RequireSaeAsync(saeId);
        }
        catch (PlatformError ex)
        {
            await ErrorAsync(http, StatusCodes.Status404NotFound, ErrorCodes.NotFound, ex.Message);
            return;
        }
        var top = QueryInt(http, "topExamples", DefaultTopExampleIds);
        if (top is null || top < 0 || top > api.Value.MaxPageSize)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, $"Query parameter 'topExamples' must be an integer between 0 and {api.Value.MaxPageSize}.");
            return;
        }
        switch (tail)
        {
            case ".jsonl" or ".csv" or ".parquet":
                await ExportAsync(http, queries, sae, FeatureExportWriter.ParseFormat(tail[1..]), top.Value);
                return;
            case "":
                await ListAsync(http, queries, sae, top.Value, api.Value.MaxPageSize);
                return;
        }
        if (tail.StartsWith('/') && int.TryParse(tail.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            if (index >= sae.CodebookSize)
            {
                await ErrorAsync(http, StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"Feature index {index} is out of range for SAE '{sae.Id}': valid indices are 0..{sae.CodebookSize - 1}.");
                return;
            }
            var row = (await queries.Reader.ReadAsync(sae.Id, [index], top.Value, withAnnotationTerms: true))[0];
            await http.Response.WriteAsJsonAsync(FeatureJson(sae, row));
            return;
        }
        await ErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, $"{InputExcerpt.Quote(tail.TrimStart('/'))} is not a feature index (a non-negative integer) or an export format (.jsonl, .csv, .parquet).");
    }

    /// <summary>Streams every feature of the SAE, a page of grain reads at a time: the response never holds the whole set.</summary>
    private static async Task ExportAsync(HttpContext http, FeaturePlatformQueries queries, SaeDescriptor sae, FeatureExportFormat format, int top)
    {
        http.Response.ContentType = FeatureExportWriter.ContentType(format);
        var fileName = sae.Id.Replace('/', '_') + "." + FeatureExportWriter.FileExtension(format);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        http.Response.Headers[FeatureExportWriter.FeatureCountHeader] = sae.CodebookSize.ToString(CultureInfo.InvariantCulture);
        var records = Records(queries.Reader, sae, top, http.RequestAborted);
        if (format == FeatureExportFormat.Parquet) await FeatureParquetWriter.WriteAsync(records, http.Response.Body, ct: http.RequestAborted);
        else await FeatureExportWriter.WriteAsync(records, http.Response.Body, format, http.RequestAborted);
    }

    private static async IAsyncEnumerable<FeatureExportRecord> Records(IFeatureReader reader, SaeDescriptor sae, int top,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var row in reader.EnumerateAsync(sae, top, withAnnotationTerms: false, ct))
            yield return row.ToExportRecord();
    }

    /// <summary><c>?offset=&amp;limit=</c> paging over feature indices, with a <c>next</c> link like Biohub's alpha API.</summary>
    private static async Task ListAsync(HttpContext http, FeaturePlatformQueries queries, SaeDescriptor sae, int top, int maxLimit)
    {
        var offset = QueryInt(http, "offset", 0);
        var limit = QueryInt(http, "limit", 100);
        if (offset is null || offset < 0 || limit is null || limit < 1 || limit > maxLimit)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, $"Query parameters 'offset' (0 or more) and 'limit' (1..{maxLimit}) must be integers.");
            return;
        }
        var indices = Enumerable.Range(offset.Value, Math.Max(0, Math.Min(limit.Value, sae.CodebookSize - offset.Value))).ToArray();
        var rows = await queries.Reader.ReadAsync(sae.Id, indices, top, withAnnotationTerms: false);
        var nextOffset = offset.Value + indices.Length;
        string? next = nextOffset < sae.CodebookSize
            ? $"/api/v1/saes/{sae.Id}/features?offset={nextOffset}&limit={limit.Value}&topExamples={top}"
            : null;
        await http.Response.WriteAsJsonAsync(new { sae = sae.Id, offset = offset.Value, limit = limit.Value, total = sae.CodebookSize, next, notice = sae.Notice, features = rows.Select(r => FeatureJson(sae, r)) });
    }

    private static object FeatureJson(SaeDescriptor sae, FeatureRow row)
    {
        var d = row.Snapshot.Current;
        var record = row.ToExportRecord();
        return new
        {
            sae = record.Sae,
            index = record.Index,
            notice = sae.Notice,
            label = d?.Label,
            description = d?.Text,
            status = d?.Status.ToString().ToUpperInvariant(),
            source = d?.Source.ToString().ToUpperInvariant(),
            score = d?.Score,
            version = d?.Version,
            statistics = new
            {
                maxActivation = record.MaxActivation is { } m ? FloatOutput.ToDouble(m) : (double?)null,
                documentCount = record.DocumentCount,
                corpusSize = record.CorpusSize,
                idf = record.Idf,
            },
            topExampleIds = record.TopExampleIds,
            topExamples = row.Snapshot.TopExampleIds.Zip(row.Snapshot.TopExampleValues, (id, v) => new { sequenceId = id, maxValue = FloatOutput.ToDouble(v) }),
            annotationTerms = row.AnnotationTerms,
        };
    }

    private static int? QueryInt(HttpContext http, string name, int fallback)
    {
        var raw = http.Request.Query[name];
        if (raw.Count == 0) return fallback;
        return int.TryParse(raw[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>Same rules as POST /graphql for reads: a bad key is refused; no key is fine when anonymous reads are allowed.</summary>
    internal static async Task<bool> RefuseAsync(HttpContext http)
    {
        var authenticator = http.RequestServices.GetRequiredService<ApiKeyAuthenticator>();
        var (outcome, _) = authenticator.Authenticate(http.Request.Headers.Authorization);
        string? why = outcome switch
        {
            AuthOutcome.InvalidKey => "The API key is not valid.",
            AuthOutcome.MalformedHeader => "The Authorization header must be 'Bearer KEY'.",
            AuthOutcome.Anonymous when !authenticator.AllowAnonymousReads => "This server needs an API key (Authorization: Bearer KEY).",
            _ => null,
        };
        if (why is null) return false;
        await ErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated, why);
        return true;
    }

    internal static Task ErrorAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new { errors = new[] { new { message, extensions = new { code } } } });
    }
}
