using EsmcFeaturePlatform.Abstractions.Configuration;
using System.Threading.RateLimiting;
using EsmcFeaturePlatform.GraphQL;
using Microsoft.AspNetCore.RateLimiting;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// The token buckets of <see cref="RateLimitOptions"/>, one per API key and one per anonymous client address. Every request
/// takes one permit at the door (the rate-limiting middleware); a GraphQL request then pays for its cost before it runs
/// (<see cref="Charge"/>), one permit per <see cref="RateLimitOptions.CostPerPermit"/> units, so a request that analyzes
/// a thousand sequences uses up the bucket like the thousand requests it replaces. The caller is the one authentication
/// found (<see cref="ApiKeyAuthentication"/>), so the limiter runs after it.
/// </summary>
public sealed class CostRateLimiter
{
    private readonly RateLimitOptions _options;

    public CostRateLimiter(RateLimitOptions options)
    {
        _options = options;
        Limiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            // Probes and scrapes are never limited: /healthz shares one probe per check per second (SharedHealthCheck) and
            // /metrics (only when an operator turned it on) reads in-memory instruments, so neither can be driven to cost more.
            if (!options.Enabled || http.Request.Path.StartsWithSegments(Hosting.PlatformHealth.Path) || http.Request.Path.StartsWithSegments(Hosting.ServiceDefaults.MetricsPath))
                return RateLimitPartition.GetNoLimiter("unlimited");
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
        var caller = http.GetCaller();
        return caller.IsAuthenticated
            ? ("key:" + caller.Name, _options.PermitsPerMinute)
            : ("anon:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown"), _options.AnonymousPermitsPerMinute);
    }
}

public static class RateLimiting
{
    public static IHostApplicationBuilder AddEsmcRateLimits(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetValidatedOptions<RateLimitOptions>();
        var limiter = new CostRateLimiter(options);
        builder.Services.AddSingleton(limiter);
        builder.Services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = limiter.Limiter;
            o.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var seconds = ApiErrors.SetRetryAfter(context.HttpContext, retryAfter);
                return new ValueTask(ApiErrors.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, ErrorCodes.Overloaded,
                    $"Rate limit exceeded; retry after {seconds} s (Esmc:RateLimit)."));
            };
        });
        return builder;
    }
}
