using System.IO.Compression;
using System.Text;

namespace EsmcFeaturePlatform.Core.Tests.Corpus;

/// <summary>Temporary corpus files for one test class; deleted with it.</summary>
public sealed class CorpusTestFiles : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("esmc-corpus-tests-").FullName;

    public static string Fixture(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "fixtures", .. parts]);

    public string Write(string name, string text) => WriteBytes(name, Encoding.UTF8.GetBytes(text));

    public string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string WriteGzip(string name, string text) => WriteBytes(name, Gzip(Encoding.UTF8.GetBytes(text)));

    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(data);
        return buffer.ToArray();
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
