using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Top-level settings (section <c>Esmc</c>). Keys of docs/contracts.md, section 3.1, keep their names; the rest are
/// this host's additions, documented in appsettings.json.
/// </summary>
public sealed class PlatformOptions : IValidatedOptions
{
    public static string SectionName => "Esmc";

    /// <summary>Model root (docs/contracts.md, section 1); unset = a demo root created under <see cref="DataRoot"/>.</summary>
    public string? ModelRoot { get; set; }

    /// <summary>Local state: Azurite's files, the demo model root, search index.</summary>
    public string DataRoot { get; set; } = "./data";

    /// <summary><c>all</c> (silo + API, default), <c>silo</c> (grains only) or <c>api</c> (GraphQL over a cluster client).</summary>
    public string Role { get; set; } = "all";

    public bool HostsSilo => Role.Equals("all", StringComparison.OrdinalIgnoreCase) || Role.Equals("silo", StringComparison.OrdinalIgnoreCase);

    public bool HostsApi => Role.Equals("all", StringComparison.OrdinalIgnoreCase) || Role.Equals("api", StringComparison.OrdinalIgnoreCase);

    public string ResolvedDataRoot => Path.GetFullPath(DataRoot);

    public void Validate()
    {
        if (!HostsSilo && !HostsApi) throw new ArgumentException($"Esmc:Role must be 'all', 'silo' or 'api'; got '{Role}'.");
        if (string.IsNullOrWhiteSpace(DataRoot)) throw new ArgumentException("Esmc:DataRoot must not be empty.");
    }
}
