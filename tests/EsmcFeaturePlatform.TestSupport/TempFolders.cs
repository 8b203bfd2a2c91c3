namespace EsmcFeaturePlatform.TestSupport;

/// <summary>Test hosts and benchmarks delete their temporary folders, so runs leave nothing behind.</summary>
public static class TempFolders
{
    /// <summary>Removes a folder; one with a file still held open is left for the OS's temp clean-up.</summary>
    public static void TryDelete(string? path)
    {
        try
        {
            if (path is not null && Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
