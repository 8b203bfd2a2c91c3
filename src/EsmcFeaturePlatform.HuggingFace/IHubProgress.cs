namespace EsmcFeaturePlatform.HuggingFace;

/// <summary>What a pull reports as it goes (called from several download tasks at once: implementations are thread-safe).</summary>
public interface IHubProgress
{
    /// <summary>The listing is known: <paramref name="toDownload"/> files still need <paramref name="bytes"/> bytes, <paramref name="upToDate"/> are already here.</summary>
    void Planned(HubListing listing, IReadOnlyList<HubFile> toDownload, long bytes, int upToDate) { }

    /// <summary>A partial file was found and the download continues from <paramref name="offset"/>.</summary>
    void Resuming(HubFile file, long offset) { }

    void Received(HubFile file, long bytes) { }

    void Completed(HubFile file) { }

    /// <summary>An informational line (offline mode, a server that ignored the range request).</summary>
    void Note(string message) { }
}

/// <summary>Reports nothing.</summary>
public sealed class SilentHubProgress : IHubProgress
{
    public static SilentHubProgress Instance { get; } = new();
}
