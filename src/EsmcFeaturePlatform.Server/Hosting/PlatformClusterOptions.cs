using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Section <c>Esmc:Cluster</c>: how silos find each other.</summary>
public sealed class PlatformClusterOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Cluster";

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
