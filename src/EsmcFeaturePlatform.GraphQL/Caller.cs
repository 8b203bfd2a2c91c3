using System.Security.Claims;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Roles of docs/contracts.md, section 3.2: each includes the ones before it.</summary>
public enum CallerRole { Anonymous = 0, Reader = 1, Curator = 2, Admin = 3 }

/// <summary>
/// Who is calling: the API key's name and role, or anonymous. The host's authentication handler turns a key into a
/// <see cref="ClaimsPrincipal"/> once per request (<see cref="ToPrincipal"/>); everything after it (rate limiter,
/// GraphQL, REST) reads the caller back with <see cref="From"/>, so the claims are written and read in one place.
/// </summary>
public sealed record Caller(string Name, CallerRole Role)
{
    public static Caller Anonymous { get; } = new("anonymous", CallerRole.Anonymous);

    public bool IsAuthenticated => Role != CallerRole.Anonymous;

    /// <summary>The role's name as configured (<c>Esmc:Auth:ApiKeys:NAME:Role</c>) and as the role claim holds it.</summary>
    public static string RoleName(CallerRole role) => role.ToString().ToLowerInvariant();

    /// <summary>reader, curator or admin (any case); anything else is not a role a key can have.</summary>
    public static bool TryParseRole(string? role, out CallerRole parsed)
    {
        parsed = role?.Trim().ToLowerInvariant() switch
        {
            "reader" => CallerRole.Reader,
            "curator" => CallerRole.Curator,
            "admin" => CallerRole.Admin,
            _ => CallerRole.Anonymous,
        };
        return parsed != CallerRole.Anonymous;
    }

    /// <summary>An authenticated principal of <paramref name="authenticationType"/> with a name claim and a role claim.</summary>
    public ClaimsPrincipal ToPrincipal(string authenticationType) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, Name), new Claim(ClaimTypes.Role, RoleName(Role))], authenticationType, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>The caller a principal stands for: anonymous unless it is authenticated with a known role.</summary>
    public static Caller From(ClaimsPrincipal? user) =>
        user?.Identity is { IsAuthenticated: true, Name: { } name } && TryParseRole(user.FindFirst(ClaimTypes.Role)?.Value, out var role)
            ? new Caller(name, role)
            : Anonymous;

    /// <summary>
    /// Why this caller may not do <paramref name="operation"/>, which needs <paramref name="role"/>: UNAUTHENTICATED
    /// without a key, FORBIDDEN with a lesser one; null when allowed. GraphQL throws it, REST writes it.
    /// </summary>
    public PlatformError? Refusal(CallerRole role, string operation)
    {
        if (!IsAuthenticated)
            return new PlatformError(ErrorCodes.Unauthenticated, $"{operation} needs an API key with the {RoleName(role)} role (Authorization: Bearer KEY).");
        if (Role < role)
            return new PlatformError(ErrorCodes.Forbidden, $"{operation} needs the {RoleName(role)} role; the key '{Name}' has the {RoleName(Role)} role.");
        return null;
    }
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
        if (Caller.Refusal(role, operation) is { } refusal) throw refusal;
    }
}
