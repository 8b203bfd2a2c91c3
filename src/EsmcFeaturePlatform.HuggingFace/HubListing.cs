using System.Text.Json;

namespace EsmcFeaturePlatform.HuggingFace;

/// <summary>
/// One file of a repository as the Hub lists it: path, size, git blob id, and for LFS files (weights, parquet) the
/// SHA-256 of the content. The etag the local-dir metadata records is the SHA-256 for LFS files, the blob id otherwise
/// (as huggingface_hub records it).
/// </summary>
public sealed record HubFile(string Path, long Size, string? BlobId, string? Sha256)
{
    public string? Etag => Sha256 ?? BlobId;
}

/// <summary>The files of a repository at one commit.</summary>
public sealed record HubListing(HubRepository Repository, string Commit, IReadOnlyList<HubFile> Files)
{
    /// <summary>Parses the JSON of <c>/api/{models|datasets}/{repo}/revision/{rev}?blobs=true</c> (the fields the Hub documents).</summary>
    public static HubListing Parse(HubRepository repository, string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString()! : repository.Revision;
            if (!root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw new HubException($"the Hub's listing of {repository} has no 'siblings' array; is HF_ENDPOINT a Hugging Face Hub?");
            var files = new List<HubFile>();
            foreach (var sibling in siblings.EnumerateArray())
            {
                var path = sibling.GetProperty("rfilename").GetString() ?? throw new HubException($"a file of {repository} has no name");
                var size = sibling.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : -1;
                var blob = sibling.TryGetProperty("blobId", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
                string? sha256 = null;
                if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    sha256 = lfs.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString()?.ToLowerInvariant() : null;
                    if (lfs.TryGetProperty("size", out var ls) && ls.ValueKind == JsonValueKind.Number) size = ls.GetInt64();
                }
                files.Add(new HubFile(path, size, blob, sha256));
            }
            return new HubListing(repository, commit, files);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HubException($"the Hub's listing of {repository} is not the JSON it documents ({ex.Message}); is HF_ENDPOINT a Hugging Face Hub?", ex);
        }
    }
}
