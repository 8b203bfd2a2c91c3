using System.Security.Cryptography;
using System.Text;
using EsmcFeaturePlatform.GraphQL;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>Section <c>Esmc:Auth</c>: API keys (<c>ApiKeys:NAME:Key</c>, <c>ApiKeys:NAME:Role</c>) and anonymous reads.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Esmc:Auth";

    public bool AllowAnonymousReads { get; set; } = true;

    public Dictionary<string, ApiKeyEntry> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    public sealed class ApiKeyEntry
    {
        public string? Key { get; set; }
        public string? Role { get; set; }
    }

    public void Validate()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, entry) in ApiKeys)
        {
            if (string.IsNullOrWhiteSpace(entry.Key)) throw new ArgumentException($"{SectionName}:ApiKeys:{name}:Key is empty.");
            if (!ApiKeyAuthenticator.TryParseRole(entry.Role, out _))
                throw new ArgumentException($"{SectionName}:ApiKeys:{name}:Role '{entry.Role}' must be reader, curator or admin.");
            if (!seen.Add(entry.Key)) throw new ArgumentException($"{SectionName}:ApiKeys:{name}:Key is the same as another key's.");
        }
    }
}

public enum AuthOutcome { Anonymous, Authenticated, InvalidKey, MalformedHeader }

/// <summary>Turns an Authorization header into a caller; compares hashes in constant time so timing leaks no key prefix.</summary>
public sealed class ApiKeyAuthenticator
{
    private readonly (byte[] Hash, Caller Caller)[] _keys;

    public ApiKeyAuthenticator(Microsoft.Extensions.Options.IOptions<AuthOptions> options)
    {
        AllowAnonymousReads = options.Value.AllowAnonymousReads;
        _keys = options.Value.ApiKeys
            .Select(kv => (SHA256.HashData(Encoding.UTF8.GetBytes(kv.Value.Key!)), new Caller(kv.Key, ParseRole(kv.Value.Role))))
            .ToArray();
    }

    public bool AllowAnonymousReads { get; }

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

    private static CallerRole ParseRole(string? role) => TryParseRole(role, out var parsed) ? parsed : throw new ArgumentException($"Unknown role '{role}'.");

    public (AuthOutcome Outcome, Caller Caller) Authenticate(string? authorizationHeader)
    {
        if (string.IsNullOrWhiteSpace(authorizationHeader)) return (AuthOutcome.Anonymous, Caller.Anonymous);
        const string scheme = "Bearer ";
        if (!authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || authorizationHeader.Length == scheme.Length)
            return (AuthOutcome.MalformedHeader, Caller.Anonymous);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(authorizationHeader[scheme.Length..].Trim()));
        Caller? match = null;
        foreach (var (keyHash, caller) in _keys)
            if (CryptographicOperations.FixedTimeEquals(keyHash, hash)) match = caller;
        return match is null ? (AuthOutcome.InvalidKey, Caller.Anonymous) : (AuthOutcome.Authenticated, match);
    }
}
