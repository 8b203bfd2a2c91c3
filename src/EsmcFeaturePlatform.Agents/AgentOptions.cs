using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Agents;

/// <summary>Settings of the description agent, bound from <c>Esmc:Agent</c>. No endpoint means the evidence-only describer.</summary>
public sealed class AgentOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Agent";

    /// <summary>OpenAI-compatible base URL including the version segment, e.g. https://api.openai.com/v1 or http://localhost:11434/v1.</summary>
    public string? Endpoint { get; set; }
    public string Model { get; set; } = "gpt-4o-mini";
    /// <summary>Optional: local servers (vLLM, Ollama, llama.cpp) usually need none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Most HTTP requests in flight to the endpoint at once, across all features.</summary>
    public int MaxConcurrency { get; set; } = 4;
    /// <summary>Retries of one request after a 408/429/5xx answer, a dropped connection or a timeout.</summary>
    public int MaxRetries { get; set; } = 4;
    /// <summary>Limit for one HTTP request (each retry gets its own).</summary>
    public double TimeoutSeconds { get; set; } = 120;
    public double RetryBaseDelaySeconds { get; set; } = 1;
    /// <summary>Cap on any wait between retries, including a server's Retry-After.</summary>
    public double MaxRetryDelaySeconds { get; set; } = 60;

    /// <summary>Answers requested before a malformed or schema-invalid answer is recorded as a failure.</summary>
    public int MaxOutputAttempts { get; set; } = 3;
    /// <summary>Kernel-function calls allowed per description; past it the model must answer without tools (SK alone would allow 128 rounds).</summary>
    public int MaxToolCalls { get; set; } = 12;
    public double Temperature { get; set; }
    public int? MaxTokens { get; set; } = 1500;
    /// <summary>Send the schema as response_format json_schema; turn off for servers that reject it with tools.</summary>
    public bool UseJsonSchemaResponseFormat { get; set; } = true;

    /// <summary>Score each description on held-out proteins (detection and fuzzing).</summary>
    public bool Score { get; set; } = true;
    /// <summary>Held-out activating proteins (and as many non-activating) per feature.</summary>
    public int HeldOutPerClass { get; set; } = 10;
    /// <summary>Proteins per scorer prompt; delphi uses 5.</summary>
    public int ScoreBatchSize { get; set; } = 5;

    public double ActiveThreshold { get; set; } = EsmcFeaturePlatform.Abstractions.Evidence.AnnotationEnrichment.DefaultActiveThreshold;
    public int WindowRadius { get; set; } = 16;
    /// <summary>Activating examples written into the first prompt; the rest are reachable through the kernel functions.</summary>
    public int PromptExamples { get; set; } = 20;

    /// <summary>Prices for cost accounting of batch runs, in any currency per million tokens.</summary>
    public decimal PromptTokenPricePerMillion { get; set; }
    public decimal CompletionTokenPricePerMillion { get; set; }

    public EvidenceSettings EvidenceSettings => new(ActiveThreshold, WindowRadius, Math.Max(1, PromptExamples));

    /// <summary>Every problem at once (a start-up refusal lists them all).</summary>
    void IValidatedOptions.Validate()
    {
        var problems = Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
    }

    public IEnumerable<string> Validate()
    {
        if (!string.IsNullOrWhiteSpace(Endpoint)
            && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            yield return $"{SectionName}:Endpoint must be an absolute http(s) URL, got '{Endpoint}'.";
        if (!string.IsNullOrWhiteSpace(Endpoint) && string.IsNullOrWhiteSpace(Model)) yield return $"{SectionName}:Model is required when an endpoint is set.";
        if (MaxConcurrency < 1) yield return $"{SectionName}:MaxConcurrency must be at least 1.";
        if (MaxRetries < 0) yield return $"{SectionName}:MaxRetries must not be negative.";
        if (!(TimeoutSeconds > 0)) yield return $"{SectionName}:TimeoutSeconds must be positive.";
        if (RetryBaseDelaySeconds < 0 || MaxRetryDelaySeconds < 0) yield return $"{SectionName}: retry delays must not be negative.";
        if (MaxOutputAttempts < 1) yield return $"{SectionName}:MaxOutputAttempts must be at least 1.";
        if (MaxToolCalls < 0) yield return $"{SectionName}:MaxToolCalls must not be negative.";
        if (HeldOutPerClass < 0) yield return $"{SectionName}:HeldOutPerClass must not be negative.";
        if (ScoreBatchSize < 1) yield return $"{SectionName}:ScoreBatchSize must be at least 1.";
        if (ActiveThreshold is < 0 or >= 1 || double.IsNaN(ActiveThreshold)) yield return $"{SectionName}:ActiveThreshold must be in [0,1).";
        if (WindowRadius < 1) yield return $"{SectionName}:WindowRadius must be at least 1.";
        if (PromptTokenPricePerMillion < 0 || CompletionTokenPricePerMillion < 0) yield return $"{SectionName}: token prices must not be negative.";
    }

    public decimal CostOf(long promptTokens, long completionTokens) =>
        (promptTokens * PromptTokenPricePerMillion + completionTokens * CompletionTokenPricePerMillion) / 1_000_000m;
}
