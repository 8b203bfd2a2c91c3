namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Top-level settings (section <c>Esmc</c>). Keys of docs/contracts.md, section 3.1, keep their names; the rest are
/// this host's additions, documented in appsettings.json.
/// </summary>
public sealed class PlatformOptions
{
    public const string SectionName = "Esmc";

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

/// <summary>Section <c>Esmc:Storage</c>: Azure Storage for grain state (blobs) and, when chosen, clustering (tables).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Esmc:Storage";
    public const string EmulatorConnectionString = "UseDevelopmentStorage=true";

    public string ConnectionString { get; set; } = EmulatorConnectionString;

    /// <summary>Blob container holding grain state (lowercase letters, digits and '-').</summary>
    public string Container { get; set; } = "esmc-grain-state";

    /// <summary>Start Azurite when the connection string is the emulator's and nothing listens on its ports.</summary>
    public bool StartEmulator { get; set; } = true;

    /// <summary>Keep the emulator's data in memory only (tests); otherwise under DataRoot/azurite.</summary>
    public bool EmulatorInMemory { get; set; }

    public bool IsEmulator =>
        ConnectionString.Trim().TrimEnd(';').Equals(EmulatorConnectionString, StringComparison.OrdinalIgnoreCase)
        || ConnectionString.Contains("devstoreaccount1", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString)) throw new ArgumentException($"{SectionName}:ConnectionString must not be empty.");
        if (Container.Length is < 3 or > 63 || !Container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            throw new ArgumentException($"{SectionName}:Container '{Container}' is not a valid blob container name (3-63 lowercase letters, digits, '-').");
    }
}

/// <summary>Section <c>Esmc:Cluster</c>: how silos find each other.</summary>
public sealed class PlatformClusterOptions
{
    public const string SectionName = "Esmc:Cluster";

    /// <summary><c>Localhost</c> (default: one machine) or <c>AzureStorage</c> (membership table in Esmc:Storage).</summary>
    public string Provider { get; set; } = "Localhost";

    public string ClusterId { get; set; } = "esmc";

    public string ServiceId { get; set; } = "esmc-feature-platform";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>Localhost clustering: the first silo's port, for a second silo on the same machine.</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>Address other silos reach this one on (AzureStorage clustering); default: this host's first IPv4 address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>Azure Table holding cluster membership (AzureStorage clustering).</summary>
    public string MembershipTable { get; set; } = "EsmcClusterMembership";

    public bool UsesAzureStorage => Provider.Equals("AzureStorage", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (!UsesAzureStorage && !Provider.Equals("Localhost", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{SectionName}:Provider must be 'Localhost' or 'AzureStorage'; got '{Provider}'.");
        if (SiloPort is < 1 or > 65535) throw new ArgumentException($"{SectionName}:SiloPort {SiloPort} is not a port.");
        if (GatewayPort is < 1 or > 65535) throw new ArgumentException($"{SectionName}:GatewayPort {GatewayPort} is not a port.");
        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId))
            throw new ArgumentException($"{SectionName}:ClusterId and ServiceId must not be empty.");
    }
}
