using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>Section <c>Esmc:Storage</c>: Azure Storage for grain state (blobs) and, when chosen, clustering (tables).</summary>
public sealed class StorageOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Storage";
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
