using EsmcFeaturePlatform.Abstractions.Configuration;
using EsmcFeaturePlatform.GraphQL;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>Section <c>Esmc:Auth</c>: API keys (<c>ApiKeys:NAME:Key</c>, <c>ApiKeys:NAME:Role</c>) and anonymous reads.</summary>
public sealed class AuthOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Auth";

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
            if (!Caller.TryParseRole(entry.Role, out _))
                throw new ArgumentException($"{SectionName}:ApiKeys:{name}:Role '{entry.Role}' must be reader, curator or admin.");
            if (!seen.Add(entry.Key)) throw new ArgumentException($"{SectionName}:ApiKeys:{name}:Key is the same as another key's.");
        }
    }
}
