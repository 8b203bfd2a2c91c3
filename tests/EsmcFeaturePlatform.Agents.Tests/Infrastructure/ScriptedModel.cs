using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using EsmcFeaturePlatform.Agents.Scoring;

namespace EsmcFeaturePlatform.Agents.Tests.Infrastructure;

/// <summary>
/// The behaviour of a fake chat model behind <see cref="ScriptedOpenAiServer"/>: explainer requests
/// follow a script (by default: call three evidence functions, then answer with valid JSON); scorer
/// requests are judged against the synthetic feature's ground truth, and every judgement is recorded
/// so a test can recompute the score on its own.
/// </summary>
public sealed partial class ScriptedModel(SyntheticFeature feature)
{
    public const string GoodAnswer = """
        {"label": "Transmembrane helix", "description": "Fires along hydrophobic membrane-spanning helices of integral membrane proteins.",
         "activationPattern": "motif", "confidence": 0.85, "evidenceCited": ["TRANSMEM F1 1.00", "L/I/V enriched"]}
        """;

    private int _tokenSeed;

    /// <summary>Explainer answers to give in order, each chosen from the request; when empty, the default behaviour.</summary>
    public ConcurrentQueue<Func<RecordedRequest, ScriptedResponse>> ExplainerScript { get; } = new();

    /// <summary>Replaces the scorer's judgement entirely (e.g. to make it fail).</summary>
    public Func<RecordedRequest, ScriptedResponse>? ScorerOverride { get; set; }

    /// <summary>Replaces only the simulation answers (detection and fuzzing keep their judge).</summary>
    public Func<RecordedRequest, ScriptedResponse>? SimulationOverride { get; set; }

    /// <summary>Wrong detection answers for these activating proteins, so the score is not trivially 1.</summary>
    public Func<string, bool> DetectionMisses { get; set; } = id => id.Sum(c => c) % 3 == 0;

    public ConcurrentBag<(string Task, string SequenceId, bool Answer)> Judgements { get; } = [];

    /// <summary>The simulation answers given, per window: the protein and the predicted 0-10 level of each residue.</summary>
    public ConcurrentBag<(string SequenceId, int[] Levels)> Simulations { get; } = [];
    public ConcurrentBag<RecordedRequest> ExplainerRequests { get; } = [];
    public long PromptTokensSent => Interlocked.Read(ref _promptSent);
    public long CompletionTokensSent => Interlocked.Read(ref _completionSent);
    private long _promptSent;
    private long _completionSent;

    public static bool IsScorer(RecordedRequest r) =>
        r.SystemText == DescriptionScorer.DetectionSystem || r.SystemText == DescriptionScorer.FuzzingSystem || r.SystemText == DescriptionScorer.SimulationSystem;

    public ScriptedResponse Handle(RecordedRequest request)
    {
        var response = IsScorer(request) ? (ScorerOverride ?? Judge)(request) : Explain(request);
        return Account(response);
    }

    /// <summary>Distinct token counts per reply, tallied, so the test can check the client's accounting.</summary>
    private ScriptedResponse Account(ScriptedResponse response)
    {
        if (response.Status != 200) return response;
        var n = Interlocked.Increment(ref _tokenSeed);
        var prompt = 100 + n;
        var completion = 10 + n % 7;
        var body = System.Text.Json.Nodes.JsonNode.Parse(response.Body)!.AsObject();
        body["usage"] = new System.Text.Json.Nodes.JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
        Interlocked.Add(ref _promptSent, prompt);
        Interlocked.Add(ref _completionSent, completion);
        return response with { Body = body.ToJsonString() };
    }

    private ScriptedResponse Explain(RecordedRequest request)
    {
        ExplainerRequests.Add(request);
        if (ExplainerScript.TryDequeue(out var step)) return step(request);
        return Default(request);
    }

    /// <summary>First turn: call the enrichment, residue and pattern functions; after tool results: the good answer.</summary>
    public static ScriptedResponse Default(RecordedRequest request)
    {
        var last = request.Messages.Last()!;
        if ((string?)last["role"] == "tool") return ScriptedResponse.Content(GoodAnswer);
        return CallTools(request, "get_annotation_enrichment", "get_residue_statistics", "get_activation_pattern");
    }

    public static ScriptedResponse CallTools(RecordedRequest request, params string[] functions) =>
        ScriptedResponse.ToolCalls(functions.Select(f => (request.ToolNames.Single(n => n.EndsWith(f, StringComparison.Ordinal)), "{}")));

    private ScriptedResponse Judge(RecordedRequest request)
    {
        if (request.SystemText == DescriptionScorer.SimulationSystem) return (SimulationOverride ?? Simulate)(request);
        var fuzzing = request.SystemText == DescriptionScorer.FuzzingSystem;
        var answers = new List<int>();
        foreach (Match m in WindowLine().Matches(request.LastUserText))
        {
            var tokens = m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var residues = string.Concat(tokens.Select(t => t.Trim('[', ']')));
            var protein = SwissProt.All.First(p => p.Sequence.Contains(residues, StringComparison.Ordinal));
            bool answer;
            if (fuzzing)
            {
                // A perfect judge: the marks are right when every marked residue is active in the ground truth.
                var offset = protein.Sequence.IndexOf(residues, StringComparison.Ordinal);
                var acts = feature.Activations.GetValueOrDefault(protein.Id);
                var marked = tokens.Select((t, i) => (t, i)).Where(x => x.t.StartsWith('[')).Select(x => offset + x.i).ToList();
                answer = acts is not null && marked.Count > 0 && marked.All(i => acts[i] > 0);
            }
            else
            {
                answer = feature.IsActivating(protein.Id) && !DetectionMisses(protein.Id);
            }
            Judgements.Add((fuzzing ? DescriptionScorer.FuzzingTask : DescriptionScorer.DetectionTask, protein.Id, answer));
            answers.Add(answer ? 1 : 0);
        }
        return ScriptedResponse.Content($$"""{"answers": [{{string.Join(", ", answers)}}]}""");
    }

    /// <summary>
    /// Predicts each residue's level from the ground truth (0-10 against the feature's maximum, rounded), but reads the
    /// proteins its detection misses as silent, so the correlation is high and not trivially 1.
    /// </summary>
    private ScriptedResponse Simulate(RecordedRequest request)
    {
        var max = feature.Activations.Values.SelectMany(a => a).Max();
        var windows = new List<string>();
        foreach (Match m in WindowLine().Matches(request.LastUserText))
        {
            var residues = string.Concat(m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            var protein = SwissProt.All.First(p => p.Sequence.Contains(residues, StringComparison.Ordinal));
            var offset = protein.Sequence.IndexOf(residues, StringComparison.Ordinal);
            var acts = DetectionMisses(protein.Id) ? null : feature.Activations.GetValueOrDefault(protein.Id);
            var levels = Enumerable.Range(offset, residues.Length).Select(i => acts is null ? 0 : (int)Math.Round(10 * acts[i] / max)).ToArray();
            Simulations.Add((protein.Id, levels));
            windows.Add("[" + string.Join(", ", levels) + "]");
        }
        return ScriptedResponse.Content($$"""{"answers": [{{string.Join(", ", windows)}}]}""");
    }

    [GeneratedRegex(@"^(\d+)\. (.+)$", RegexOptions.Multiline)]
    private static partial Regex WindowLine();
}
