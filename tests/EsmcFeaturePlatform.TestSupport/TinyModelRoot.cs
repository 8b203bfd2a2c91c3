using System.Net;
using System.Net.Sockets;

namespace EsmcFeaturePlatform.TestSupport;

/// <summary>
/// The golden tiny model and its SAE repository (tests/fixtures/esmc_tiny, linked into each test project's output as
/// fixtures/) arranged as a model root the platform discovers: ESMC-tiny/ and ESMC-tiny-sae-k4-codebook64/.
/// </summary>
public static class TinyModelRoot
{
    public const string ModelName = "ESMC-tiny";
    public const string SaeRepository = "ESMC-tiny-sae-k4-codebook64";
    /// <summary>An SAE whose checkpoint carries real normalization statistics.</summary>
    public const string SaeWithRealStats = SaeRepository + "/layer2";
    /// <summary>An SAE whose checkpoint carries placeholder statistics (normalized values are refused until indexed).</summary>
    public const string SaeWithPlaceholderStats = SaeRepository + "/layer1";

    /// <summary>A fresh model root under the temp folder, named <paramref name="prefix"/>-XXXXXXXX.</summary>
    public static string Create(string prefix)
    {
        var fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "esmc_tiny");
        var root = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}");
        CopyDirectory(Path.Combine(fixtures, "esmc_tiny_hf_te"), Path.Combine(root, ModelName));
        CopyDirectory(Path.Combine(fixtures, "sae_tiny_states"), Path.Combine(root, SaeRepository));
        return root;
    }

    /// <summary>Copies the files (not sub-folders) of <paramref name="from"/> into <paramref name="to"/>, which it creates.</summary>
    public static string CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        return to;
    }
}

/// <summary>Loopback ports for servers and silos the tests start.</summary>
public static class LoopbackPorts
{
    /// <summary>A port free right now (the OS picks it); another process could take it before use, which loopback tests accept.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
