using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Http;
using EsmcFeaturePlatform.Agents.Output;
using EsmcFeaturePlatform.Agents.Scoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAIChatResponseFormat = OpenAI.Chat.ChatResponseFormat;

namespace EsmcFeaturePlatform.Agents;

/// <summary>
/// The description agent: a Semantic Kernel chat run with the feature's evidence as auto-invoked
/// Kernel functions, a schema-validated JSON answer (malformed answers re-asked a bounded number of
/// times), then delphi-style scoring on proteins held out before any prompt was built.
/// </summary>
public sealed class SemanticKernelFeatureDescriber : IFeatureDescriber, IDisposable
{
    private readonly Kernel _kernel;
    private readonly AgentOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient? _ownedClient;

    /// <summary>Uses a kernel that already has an <see cref="IChatCompletionService"/> (any connector).</summary>
    public SemanticKernelFeatureDescriber(Kernel kernel, AgentOptions options, ILogger<SemanticKernelFeatureDescriber>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        _kernel = kernel;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    private SemanticKernelFeatureDescriber(Kernel kernel, AgentOptions options, ILogger logger, HttpClient client)
        : this(kernel, options)
    {
        _logger = logger;
        _ownedClient = client;
    }

    /// <summary>
    /// Builds the OpenAI connector over <see cref="ResilientModelHandler"/> for <see cref="AgentOptions.Endpoint"/>.
    /// <paramref name="retryDelay"/> replaces Task.Delay between retries (tests observe the waits instead of sleeping).
    /// </summary>
    public static SemanticKernelFeatureDescriber Create(AgentOptions options, ILoggerFactory? loggerFactory = null,
        Func<TimeSpan, CancellationToken, Task>? retryDelay = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Endpoint)) throw new ArgumentException($"{AgentOptions.SectionName}:Endpoint is not set.", nameof(options));
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        var handler = new ResilientModelHandler(options, delay: retryDelay);
        // The handler owns per-attempt timeouts; the client's own limit only guards against a bug there.
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var builder = Kernel.CreateBuilder();
        builder.AddOpenAIChatCompletion(options.Model, new Uri(options.Endpoint), string.IsNullOrEmpty(options.ApiKey) ? "none" : options.ApiKey, httpClient: client);
        if (loggerFactory is not null) builder.Services.AddSingleton(loggerFactory);
        var logger = (ILogger?)loggerFactory?.CreateLogger<SemanticKernelFeatureDescriber>() ?? NullLogger.Instance;
        return new SemanticKernelFeatureDescriber(builder.Build(), options, logger, client);
    }

    public bool UsesLanguageModel => true;

    public async Task<DescriptionResult> DescribeAsync(FeatureEvidence evidence, CancellationToken ct = default) =>
        (await DescribeWithTranscriptAsync(evidence, ct)).Result;

    /// <summary>As <see cref="DescribeAsync"/>, keeping the chat, the tool calls and the held-out set (the transcript docs/description-agent.md, section 5, keeps).</summary>
    public async Task<DescriptionTranscript> DescribeWithTranscriptAsync(FeatureEvidence evidence, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var split = HeldOutSplitter.Split(evidence, _options.Score ? _options.HeldOutPerClass : 0);
        EvidenceAnalysis analysis;
        try
        {
            analysis = EvidenceAnalysis.Build(split.Shown, _options.EvidenceSettings);
        }
        catch (ArgumentException ex)
        {
            return Fail(ex.Message, 0, 0, null, null);
        }

        var plugin = new FeatureEvidencePlugin(analysis);
        var kernel = _kernel.Clone();
        kernel.Plugins.AddFromObject(plugin, FeatureEvidencePlugin.PluginName);
        var budget = new ToolBudget(_options.MaxToolCalls);
        kernel.AutoFunctionInvocationFilters.Add(budget);
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory(Prompts.ExplainerSystem);
        history.AddUserMessage(Prompts.ExplainerUser(analysis));

        var settings = new OpenAIPromptExecutionSettings
        {
            FunctionChoiceBehavior = FunctionChoiceBehavior.Auto(),
            Temperature = _options.Temperature,
            MaxTokens = _options.MaxTokens,
        };
        if (_options.UseJsonSchemaResponseFormat)
            settings.ResponseFormat = OpenAIChatResponseFormat.CreateJsonSchemaFormat("feature_description", BinaryData.FromString(WireSchema), jsonSchemaIsStrict: false);

        var counted = new HashSet<ChatMessageContent>(ReferenceEqualityComparer.Instance);
        int prompt = 0, completion = 0;
        void Count(ChatMessageContent m)
        {
            if (!counted.Add(m)) return;
            var (p, c) = TokenUsage.Of(m);
            prompt += p;
            completion += c;
        }

        DescriberOutput? output = null;
        IReadOnlyList<string> errors = [];
        try
        {
            for (var attempt = 1; attempt <= _options.MaxOutputAttempts && output is null; attempt++)
            {
                var reply = await chat.GetChatMessageContentAsync(history, settings, kernel, ct);
                // SK appends the tool-call rounds to the history; their usage counts too.
                foreach (var m in history) if (m.Role == AuthorRole.Assistant) Count(m);
                Count(reply);
                // A run stopped by the tool budget returns the last tool result, which is already in the history.
                if (!history.Contains(reply)) history.Add(reply);
                if (budget.Exhausted) settings.FunctionChoiceBehavior = FunctionChoiceBehavior.None();
                (output, errors) = DescriberOutputSchema.Parse(reply.Content);
                if (output is null)
                {
                    _logger.LogWarning("Feature {Feature}: answer {Attempt} rejected: {Errors}", evidence.Feature, attempt, string.Join("; ", errors));
                    if (attempt < _options.MaxOutputAttempts) history.AddUserMessage(Prompts.Correction(errors));
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Feature {Feature}: model call failed", evidence.Feature);
            return Fail("model call failed: " + Describe(ex), prompt, completion, history, plugin);
        }
        if (output is null)
            return Fail($"no valid answer after {_options.MaxOutputAttempts} attempt(s): {string.Join("; ", errors)}", prompt, completion, history, plugin);

        double? score = null;
        ScoreDetails? details = null;
        string? scoreFailure = null;
        if (_options.Score)
        {
            try
            {
                var outcome = await new DescriptionScorer(chat, _options).ScoreAsync(evidence.Feature, output, split.HeldOut, ct);
                (score, details, scoreFailure) = (outcome.Score, outcome.Details, outcome.Failure);
                prompt += outcome.PromptTokens;
                completion += outcome.CompletionTokens;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Feature {Feature}: scoring failed", evidence.Feature);
                scoreFailure = "scoring call failed: " + Describe(ex);
            }
        }
        var result = new DescriptionResult(output, DescriptionSource.Agent, _options.Model, score, details, null, prompt, completion, scoreFailure);
        return new DescriptionTranscript(result, history, [.. plugin.Calls], split.HeldOut);
    }

    private DescriptionTranscript Fail(string failure, int prompt, int completion, ChatHistory? history, FeatureEvidencePlugin? plugin) =>
        new(new DescriptionResult(null, DescriptionSource.Agent, _options.Model, null, null, failure, prompt, completion),
            history ?? [], plugin is null ? [] : [.. plugin.Calls], new HeldOutSet([], []));

    private static string Describe(Exception ex)
    {
        if (ex is HttpOperationException http && http.StatusCode is { } code)
            return $"HTTP {(int)code} {code}" + (string.IsNullOrEmpty(http.ResponseContent) ? "" : ": " + Truncate(http.ResponseContent));
        var inner = ex;
        while (inner.InnerException is not null && inner is not ModelTimeoutException) inner = inner.InnerException;
        return inner is ModelTimeoutException ? inner.Message : Truncate(ex.Message);
    }

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "..." : s;

    /// <summary>The committed schema minus the meta keywords some servers refuse inside response_format.</summary>
    private static readonly string WireSchema = BuildWireSchema();

    private static string BuildWireSchema()
    {
        var s = DescriberOutputSchema.Build();
        s.Remove("$schema");
        s.Remove("$id");
        return s.ToJsonString();
    }

    public void Dispose() => _ownedClient?.Dispose();
}

/// <summary>Stops auto-invocation after a fixed number of kernel-function calls, so a looping model cannot run up cost.</summary>
internal sealed class ToolBudget(int max) : IAutoFunctionInvocationFilter
{
    private int _calls;

    public bool Exhausted => Volatile.Read(ref _calls) >= max;

    public async Task OnAutoFunctionInvocationAsync(AutoFunctionInvocationContext context, Func<AutoFunctionInvocationContext, Task> next)
    {
        if (Interlocked.Increment(ref _calls) > max)
        {
            context.Result = new FunctionResult(context.Function, "Tool budget exhausted: answer now with the JSON object, without calling functions.");
            context.Terminate = true;
            return;
        }
        await next(context);
    }
}

/// <summary>A describe run with what produced it: the chat (prompts, tool calls and results, answers), the functions called and the held-out set.</summary>
public sealed record DescriptionTranscript(DescriptionResult Result, ChatHistory History, IReadOnlyList<string> ToolCalls, HeldOutSet HeldOut);
