namespace EsmcFeaturePlatform.TestSupport;

/// <summary>
/// The one place that says where the tests' storage emulator listens: its own loopback ports, never Azurite's default
/// 10000-10002, so a server a person starts (which uses the defaults) never attaches to the in-memory emulator the tests
/// leave running, and the tests never write into a person's emulator. Every test project's hosts use
/// <see cref="ConnectionString"/>; whichever starts first starts Azurite there (from the repository's node_modules,
/// in memory) unless one already listens, and leaves it running for the other test assemblies of the run.
/// .ci/run reads the three port numbers from this file: keep them one per line as below.
/// </summary>
public static class TestStorage
{
    public const int BlobPort = 10100;
    public const int QueuePort = 10101;
    public const int TablePort = 10102;

    /// <summary>Azurite's well-known account at the three ports above.</summary>
    public const string ConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        + "BlobEndpoint=http://127.0.0.1:10100/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10101/devstoreaccount1;"
        + "TableEndpoint=http://127.0.0.1:10102/devstoreaccount1;";
}
