using EsmcFeaturePlatform.Abstractions.Configuration;
using EsmcFeaturePlatform.HuggingFace;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Section <c>Esmc:Models</c>: repositories to pull from the Hugging Face Hub into the model root when the server starts,
/// before the model catalog loads (the same client and layout as <c>esmc pull</c>).
/// </summary>
public sealed class ModelPullOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Models";

    /// <summary>What to pull, in order; empty = nothing (the default).</summary>
    public List<ModelPullEntry> Pull { get; set; } = [];

    /// <summary>Hub endpoint; default HF_ENDPOINT, else https://huggingface.co.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Hub token for gated or private repositories; default HF_TOKEN (or the token file huggingface-cli login writes).</summary>
    public string? Token { get; set; }

    public int ParallelDownloads { get; set; } = HubClient.DefaultParallelDownloads;

    public void Validate()
    {
        foreach (var entry in Pull)
        {
            if (string.IsNullOrWhiteSpace(entry.Repo)) throw new ArgumentException($"{SectionName}:Pull: every entry needs a Repo (OWNER/NAME).");
            try { HubRepository.Parse(entry.Repo, HubRepository.ParseType(entry.RepoType), entry.Revision); }
            catch (HubException ex) { throw new ArgumentException($"{SectionName}:Pull: {ex.Message}", ex); }
        }
        if (ParallelDownloads is < 1 or > 16) throw new ArgumentException($"{SectionName}:ParallelDownloads must be from 1 to 16; got {ParallelDownloads}.");
    }
}

/// <summary>One repository of <see cref="ModelPullOptions.Pull"/>: <c>{ "Repo": "biohub/ESMC-300M", "Include": ["*.json", "*.safetensors"] }</c>.</summary>
public sealed class ModelPullEntry
{
    public string Repo { get; set; } = "";
    public string? Revision { get; set; }
    public string RepoType { get; set; } = "model";
    public List<string> Include { get; set; } = [];
}
