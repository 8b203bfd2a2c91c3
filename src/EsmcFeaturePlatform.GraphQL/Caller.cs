namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Roles of docs/contracts.md, section 3.2: each includes the ones before it.</summary>
public enum CallerRole { Anonymous = 0, Reader = 1, Curator = 2, Admin = 3 }

/// <summary>Who is calling: the API key's name and role, or anonymous.</summary>
public sealed record Caller(string Name, CallerRole Role)
{
    public static Caller Anonymous { get; } = new("anonymous", CallerRole.Anonymous);

    public bool IsAuthenticated => Role != CallerRole.Anonymous;
}

/// <summary>The per-request GraphQL user context: the caller and the request's data loaders.</summary>
public sealed class PlatformUserContext : Dictionary<string, object?>
{
    public required Caller Caller { get; init; }

    public required FeatureLoaders Loaders { get; init; }

    /// <summary>
    /// Charges the request's cost to the caller's rate limit before it runs (the host's limiter): null when charged,
    /// else how long to wait. Unset (tests, other hosts): nothing is charged.
    /// </summary>
    public Func<long, TimeSpan?>? ChargeCost { get; init; }

    /// <summary>The request's estimated cost (<see cref="RequestCost"/>), set before execution.</summary>
    public long Cost { get; set; }

    /// <summary>Set when the rate limit refused the request's cost: the host answers 429 with Retry-After.</summary>
    public TimeSpan? RetryAfter { get; set; }
    /// <summary>The client's address (for the screening audit of anonymous callers); null when unknown.</summary>
    public string? ClientAddress { get; init; }

    /// <summary>Mutations call this before touching anything, so a refused call changes nothing.</summary>
    public void Require(CallerRole role, string operation)
    {
        if (!Caller.IsAuthenticated)
            throw new PlatformError(ErrorCodes.Unauthenticated, $"{operation} needs an API key with the {role.ToString().ToLowerInvariant()} role (Authorization: Bearer KEY).");
        if (Caller.Role < role)
            throw new PlatformError(ErrorCodes.Forbidden, $"{operation} needs the {role.ToString().ToLowerInvariant()} role; the key '{Caller.Name}' has the {Caller.Role.ToString().ToLowerInvariant()} role.");
    }
}
