using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>Section <c>Esmc:RateLimit</c>: token buckets per API key and per anonymous client address.</summary>
public sealed class RateLimitOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:RateLimit";

    public bool Enabled { get; set; } = true;

    /// <summary>Requests per minute per API key; the bucket also holds this many, so a minute's worth may come at once.</summary>
    public int PermitsPerMinute { get; set; } = 6000;

    /// <summary>Requests per minute per anonymous client (remote address).</summary>
    public int AnonymousPermitsPerMinute { get; set; } = 1200;

    /// <summary>Cost units (Esmc:Api cost, <c>RequestCost</c>) one permit buys: a GraphQL request costing more takes more permits.</summary>
    public int CostPerPermit { get; set; } = 100;

    public void Validate()
    {
        if (PermitsPerMinute < 1) throw new ArgumentException($"{SectionName}:PermitsPerMinute must be positive; got {PermitsPerMinute}.");
        if (CostPerPermit < 1) throw new ArgumentException($"{SectionName}:CostPerPermit must be positive; got {CostPerPermit}.");
        if (AnonymousPermitsPerMinute < 1) throw new ArgumentException($"{SectionName}:AnonymousPermitsPerMinute must be positive; got {AnonymousPermitsPerMinute}.");
    }

    /// <summary>One token every 60 s / permits, so the long-run rate is exactly the configured one.</summary>
    public static TimeSpan Period(int permitsPerMinute) => TimeSpan.FromTicks(TimeSpan.FromMinutes(1).Ticks / permitsPerMinute);
}
