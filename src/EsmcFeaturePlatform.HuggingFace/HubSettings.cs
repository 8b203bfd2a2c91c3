namespace EsmcFeaturePlatform.HuggingFace;

/// <summary>
/// Where the Hub is and who is asking, read the way the Hugging Face tools read them: <c>HF_ENDPOINT</c> (default
/// https://huggingface.co), <c>HF_TOKEN</c> (else the token file <c>huggingface-cli login</c> writes,
/// <c>$HF_HOME/token</c>, <c>HF_HOME</c> defaulting to ~/.cache/huggingface) and <c>HF_HUB_OFFLINE</c> (1/true/yes/on:
/// no network; files already downloaded are used as they are).
/// </summary>
public sealed record HubSettings(Uri Endpoint, string? Token, bool Offline)
{
    public const string DefaultEndpoint = "https://huggingface.co";
    public const string EndpointVariable = "HF_ENDPOINT";
    public const string TokenVariable = "HF_TOKEN";
    public const string OfflineVariable = "HF_HUB_OFFLINE";

    /// <summary>The settings from the environment; <paramref name="token"/> (a --token option) wins over HF_TOKEN.</summary>
    public static HubSettings FromEnvironment(string? token = null, Func<string, string?>? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariable;
        var endpointText = variables(EndpointVariable);
        endpointText = string.IsNullOrWhiteSpace(endpointText) ? DefaultEndpoint : endpointText.Trim();
        if (!Uri.TryCreate(endpointText.TrimEnd('/') + "/", UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new HubException($"{EndpointVariable} must be an http:// or https:// URL such as {DefaultEndpoint}; got '{endpointText}'");
        token = string.IsNullOrWhiteSpace(token) ? variables(TokenVariable) : token;
        if (string.IsNullOrWhiteSpace(token)) token = TokenFile(variables);
        return new HubSettings(endpoint, string.IsNullOrWhiteSpace(token) ? null : token.Trim(), IsTrue(variables(OfflineVariable)));
    }

    private static string? TokenFile(Func<string, string?> variables)
    {
        var home = variables("HF_HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            var user = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(user)) return null;
            home = Path.Combine(user, ".cache", "huggingface");
        }
        var path = Path.Combine(home, "token");
        try { return File.Exists(path) ? File.ReadAllText(path).Trim() : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    // huggingface_hub's constants._is_true: "1", "ON", "YES", "TRUE", any case.
    private static bool IsTrue(string? value) => value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";
}
