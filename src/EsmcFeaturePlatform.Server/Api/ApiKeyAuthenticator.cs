using System.Security.Cryptography;
using System.Text;
using EsmcFeaturePlatform.GraphQL;

namespace EsmcFeaturePlatform.Server.Api;

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
