namespace EsmcFeaturePlatform.HuggingFace;

public enum HubRepoType { Model, Dataset }

/// <summary>A repository at a revision: <c>owner/name</c>, model or dataset, branch, tag or commit (default <c>main</c>).</summary>
public sealed record HubRepository(string Id, HubRepoType Type = HubRepoType.Model, string Revision = "main")
{
    /// <summary>The folder name under a model root: the part after the '/' (huggingface-cli download --local-dir ROOT/NAME).</summary>
    public string LocalName => Id[(Id.LastIndexOf('/') + 1)..];

    public string Kind => Type == HubRepoType.Dataset ? "dataset" : "model";

    /// <summary>Checks the id's shape (owner/name, Hub characters), so a typo fails before any request.</summary>
    public static HubRepository Parse(string id, HubRepoType type = HubRepoType.Model, string? revision = null)
    {
        id = id.Trim();
        var parts = id.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0 || p is "." or ".." || !p.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw new HubException($"'{id}' is not a Hub repository id: expected OWNER/NAME, e.g. biohub/ESMC-300M (letters, digits, '-', '_', '.')");
        revision = string.IsNullOrWhiteSpace(revision) ? "main" : revision.Trim();
        return new HubRepository(id, type, revision);
    }

    public static HubRepoType ParseType(string text) => text.Trim().ToLowerInvariant() switch
    {
        "model" => HubRepoType.Model,
        "dataset" => HubRepoType.Dataset,
        _ => throw new HubException($"repository type must be model or dataset; got '{text}'"),
    };

    // Revisions go into one path segment (huggingface_hub quotes them with safe=""), so 'refs/pr/1' stays one segment.
    private string EscapedRevision => Uri.EscapeDataString(Revision);

    private string EscapedId => string.Join('/', Id.Split('/').Select(Uri.EscapeDataString));

    /// <summary><c>GET {endpoint}/api/{models|datasets}/{repo}/revision/{rev}?blobs=true</c>: files with sizes and LFS hashes.</summary>
    public Uri ListingUrl(Uri endpoint) =>
        new(endpoint, $"api/{(Type == HubRepoType.Dataset ? "datasets" : "models")}/{EscapedId}/revision/{EscapedRevision}?blobs=true");

    /// <summary><c>GET {endpoint}/[datasets/]{repo}/resolve/{rev}/{path}</c>: the file's bytes (often a redirect to a CDN).</summary>
    public Uri ResolveUrl(Uri endpoint, string path) =>
        new(endpoint, $"{(Type == HubRepoType.Dataset ? "datasets/" : "")}{EscapedId}/resolve/{EscapedRevision}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    public override string ToString() => $"{Kind} {Id}@{Revision}";
}
