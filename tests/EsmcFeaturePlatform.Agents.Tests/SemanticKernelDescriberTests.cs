using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Scoring;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;

namespace EsmcFeaturePlatform.Agents.Tests;

/// <summary>The real SK OpenAI connector against a scripted OpenAI-compatible server on loopback HTTP.</summary>
public sealed class SemanticKernelDescriberTests : IAsyncLifetime
{
    private readonly SyntheticFeature _feature = SyntheticFeature.Inside("TRANSMEM");
    private ScriptedModel _model = null!;
    private ScriptedOpenAiServer _server = null!;
    private readonly ConcurrentQueue<TimeSpan> _waits = new();

    public Task InitializeAsync()
    {
        _model = new ScriptedModel(_feature);
        _server = new ScriptedOpenAiServer(_model.Handle);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private SemanticKernelFeatureDescriber Describer(Action<AgentOptions>? configure = null)
    {
        var options = new AgentOptions
        {
            Endpoint = _server.Endpoint, Model = "scripted-model", ApiKey = "test-key", HeldOutPerClass = 5,
            MaxRetries = 2, RetryBaseDelaySeconds = 1, TimeoutSeconds = 30,
        };
        configure?.Invoke(options);
        // Waits are recorded, not slept: the test checks what the client asked for, with no clock involved.
        return SemanticKernelFeatureDescriber.Create(options, retryDelay: (d, _) => { _waits.Enqueue(d); return Task.CompletedTask; });
    }

    [Fact]
    public async Task Describes_through_tool_calls_and_scores_on_held_out_proteins()
    {
        using var describer = Describer();
        var transcript = await describer.DescribeWithTranscriptAsync(_feature.Evidence());
        var result = transcript.Result;

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal("Transmembrane helix", result.Output!.Label);
        Assert.Equal(DescriptionSource.Agent, result.Source);
        Assert.Equal("scripted-model", result.Author);
        Assert.Null(result.ScoreFailure);

        var explainer = _model.ExplainerRequests.OrderBy(r => r.Sequence).ToList();
        Assert.Equal(2, explainer.Count);
        var first = explainer[0];
        Assert.Equal("Bearer test-key", first.Authorization);
        Assert.Equal("scripted-model", (string?)first.Body["model"]);
        Assert.Equal("json_schema", (string?)first.Body["response_format"]?["type"]);
        Assert.Equal(7, first.ToolNames.Count);
        Assert.Contains(first.ToolNames, n => n.EndsWith("get_annotation_enrichment", StringComparison.Ordinal));

        // The prompt carries the evidence: marked residues of shown examples, and the pattern summary.
        var shownTop = transcript.Result.Output is not null ? _feature.Evidence().QuantileExamples.First().Example.SequenceId : "";
        Assert.Contains(shownTop, first.LastUserText, StringComparison.Ordinal);
        Assert.Matches(@"\[[A-Z]:\d+\]", first.LastUserText);
        Assert.Contains("Activation pattern: motif", first.LastUserText, StringComparison.Ordinal);

        // Tool calls round-trip: the second request carries each call's result under its call id, computed by our kernel functions.
        var second = explainer[1];
        var calls = second.MessagesWithRole("assistant").SelectMany(m => m["tool_calls"]!.AsArray()).ToList();
        var results = second.MessagesWithRole("tool").ToList();
        Assert.Equal(3, calls.Count);
        Assert.Equal(calls.Select(c => (string?)c!["id"]), results.Select(r => (string?)r["tool_call_id"]));
        Assert.Contains(results, r => RecordedRequest.Text(r["content"]!).Contains("TRANSMEM: precision 1.00, recall 1.00", StringComparison.Ordinal));
        Assert.Contains(results, r => RecordedRequest.Text(r["content"]!).Contains("Composition of active residues", StringComparison.Ordinal));
        Assert.Equal(["get_annotation_enrichment", "get_residue_statistics", "get_activation_pattern"], transcript.ToolCalls);

        // Held-out proteins never reach the explainer, by id or by sequence.
        var held = transcript.HeldOut.Activating.Concat(transcript.HeldOut.NonActivating).ToList();
        Assert.Equal(10, held.Count);
        foreach (var request in explainer)
            foreach (var h in held)
            {
                Assert.DoesNotContain(h.Example.SequenceId, request.AllText, StringComparison.Ordinal);
                Assert.DoesNotContain(string.Join(' ', h.Example.Sequence[..20].ToCharArray()), request.AllText, StringComparison.Ordinal);
            }

        // The score is recomputed here from the scorer's recorded answers and the ground truth.
        var details = result.ScoreDetails!;
        Assert.Equal(held.Select(h => h.Example.SequenceId).Order(), _model.Judgements.Where(j => j.Task == "detection").Select(j => j.SequenceId).Order());
        var detection = Balanced(_model.Judgements.Where(j => j.Task == "detection"));
        var fuzzing = Balanced(_model.Judgements.Where(j => j.Task == "fuzzing"));
        Assert.True(detection < 1.0, "the scripted judge misses some proteins, so detection must not be perfect");
        Assert.Equal(detection, details.DetectionBalancedAccuracy, 12);
        Assert.Equal(fuzzing, details.FuzzingBalancedAccuracy, 12);
        Assert.Equal((detection + fuzzing) / 2, result.Score!.Value, 12);
        Assert.InRange(result.Score.Value, 0, 1);
        Assert.Equal(20, details.Items.Length);
        Assert.Equal(DescriptionScorer.PromptVersion, details.PromptVersion);

        // Simulation: the same 10 windows; the details keep the true levels (0-10, zero outside the feature) and the
        // scorer's predictions exactly as sent, and the correlation is recomputed here from them.
        var simulations = details.Simulations!;
        Assert.Equal(held.Count, simulations.Length);
        Assert.Equal(_model.Simulations.Select(s => s.SequenceId).Order(), simulations.Select(s => s.SequenceId).Order());
        foreach (var window in simulations)
        {
            var sent = _model.Simulations.Single(s => s.SequenceId == window.SequenceId).Levels;
            Assert.Equal(sent.Select(l => (double)l), window.Predicted);
            Assert.Equal(window.Predicted.Length, window.Actual.Length);
            var truth = _feature.Activations.GetValueOrDefault(window.SequenceId);
            for (var i = 0; i < window.Actual.Length; i++)
                Assert.Equal(truth is not null && truth[window.Start + i] > 0, window.Actual[i] > 0);
        }
        var actual = simulations.SelectMany(w => w.Actual).ToArray();
        var predicted = simulations.SelectMany(w => w.Predicted).ToArray();
        double ma = actual.Average(), mp = predicted.Average();
        var expected = actual.Zip(predicted).Sum(x => (x.First - ma) * (x.Second - mp))
            / Math.Sqrt(actual.Sum(a => (a - ma) * (a - ma)) * predicted.Sum(p => (p - mp) * (p - mp)));
        Assert.Equal(expected, details.SimulationCorrelation!.Value, 9);
        Assert.InRange(details.SimulationCorrelation.Value, 0.3, 0.999);   // misses pull it below 1; ground truth keeps it well above 0

        // Token counts are the sums of the usage blocks the server sent.
        Assert.Equal(_model.PromptTokensSent, result.PromptTokens);
        Assert.Equal(_model.CompletionTokensSent, result.CompletionTokens);
    }

    private double Balanced(IEnumerable<(string Task, string SequenceId, bool Answer)> judged)
    {
        var list = judged.ToList();
        var positives = list.Where(j => _feature.IsActivating(j.SequenceId)).ToList();
        var negatives = list.Where(j => !_feature.IsActivating(j.SequenceId)).ToList();
        return 0.5 * ((double)positives.Count(j => j.Answer) / positives.Count + (double)negatives.Count(j => !j.Answer) / negatives.Count);
    }

    [Fact]
    public async Task Malformed_and_invalid_answers_are_re_asked_then_accepted()
    {
        _model.ExplainerScript.Enqueue(_ => ScriptedResponse.Content("Sure! This feature is about membranes."));
        _model.ExplainerScript.Enqueue(_ => ScriptedResponse.Content(ScriptedModel.GoodAnswer.Replace("0.85", "3", StringComparison.Ordinal)));
        _model.ExplainerScript.Enqueue(_ => ScriptedResponse.Content(ScriptedModel.GoodAnswer));
        using var describer = Describer(o => o.Score = false);

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.True(result.Succeeded, result.Failure);
        Assert.Null(result.Score);
        var requests = _model.ExplainerRequests.OrderBy(r => r.Sequence).ToList();
        Assert.Equal(3, requests.Count);
        Assert.Contains("not valid JSON", requests[1].LastUserText, StringComparison.Ordinal);
        Assert.Contains("$.confidence: must be <= 1", requests[2].LastUserText, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.ChatRequests, ScriptedModel.IsScorer);
    }

    [Fact]
    public async Task Answer_that_stays_malformed_is_a_failure_and_is_never_scored()
    {
        for (var i = 0; i < 5; i++) _model.ExplainerScript.Enqueue(_ => ScriptedResponse.Content("{\"label\": \"half an answer\""));
        using var describer = Describer(o => o.MaxOutputAttempts = 2);

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.False(result.Succeeded);
        Assert.Null(result.Output);
        Assert.Null(result.Score);
        Assert.Null(result.ScoreDetails);
        Assert.Contains("no valid answer after 2 attempt(s)", result.Failure, StringComparison.Ordinal);
        Assert.Equal(2, _server.ChatRequests.Count);
        Assert.DoesNotContain(_server.ChatRequests, ScriptedModel.IsScorer);
        // Spent tokens are still accounted for, even though nothing is stored.
        Assert.Equal(_model.PromptTokensSent, result.PromptTokens);
    }

    [Fact]
    public async Task A_model_that_keeps_calling_tools_is_cut_off_and_made_to_answer()
    {
        // This model calls a function whenever it may; it answers only when told tool_choice "none".
        _server.Handler = r => (string?)r.Body["tool_choice"] == "none"
            ? ScriptedResponse.Content(ScriptedModel.GoodAnswer)
            : ScriptedModel.CallTools(r, "get_top_examples");
        using var describer = Describer(o => { o.Score = false; o.MaxToolCalls = 3; });

        var transcript = await describer.DescribeWithTranscriptAsync(_feature.Evidence());

        Assert.True(transcript.Result.Succeeded, transcript.Result.Failure);
        Assert.Equal(3, transcript.ToolCalls.Count);
        Assert.Equal("none", (string?)_server.ChatRequests[^1].Body["tool_choice"]);
    }

    [Fact]
    public async Task Rate_limit_waits_what_Retry_After_asks_then_succeeds()
    {
        _model.ExplainerScript.Enqueue(_ => ScriptedResponse.Error(429, "slow down", new Dictionary<string, string> { ["Retry-After"] = "7" }));
        using var describer = Describer(o => o.Score = false);

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.True(result.Succeeded, result.Failure);
        Assert.Equal([TimeSpan.FromSeconds(7)], _waits);
        // The 429'd request was sent again, identical.
        var requests = _server.ChatRequests;
        Assert.True(JsonNode.DeepEquals(requests[0].Body, requests[1].Body));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_growing_backoff_then_reported_as_failure()
    {
        _server.Handler = _ => ScriptedResponse.Error(500, "boom");
        using var describer = Describer(o => o.MaxRetries = 2);

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.False(result.Succeeded);
        Assert.Contains("500", result.Failure, StringComparison.Ordinal);
        Assert.Null(result.Score);
        // Exactly 1 + MaxRetries requests: ours are the only retries (the SDK's own are off with our HttpClient).
        Assert.Equal(3, _server.ChatRequests.Count);
        var waits = _waits.ToList();
        Assert.Equal(2, waits.Count);
        Assert.True(waits[1] > waits[0], $"{waits[0]} then {waits[1]}");
    }

    [Fact]
    public async Task Slow_endpoint_times_out_into_a_failure()
    {
        _server.Handler = r => ScriptedModel.Default(r).After(TimeSpan.FromSeconds(20));
        using var describer = Describer(o => { o.TimeoutSeconds = 0.3; o.MaxRetries = 1; });

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.False(result.Succeeded);
        Assert.Contains("did not answer within 0.3 s (2 attempts)", result.Failure, StringComparison.Ordinal);
        Assert.Equal(2, _server.ChatRequests.Count);
    }

    [Fact]
    public async Task Unreadable_simulation_answers_give_no_score_even_when_detection_and_fuzzing_worked()
    {
        // Right shape, wrong length: one level too few for every window, on the first try and on the retry.
        _model.SimulationOverride = r => ScriptedResponse.Content("""{"answers": [[3, 4]]}""");
        using var describer = Describer(o => o.MaxRetries = 0);

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.True(result.Succeeded, result.Failure);
        Assert.Null(result.Score);
        Assert.Null(result.ScoreDetails);
        Assert.Contains("simulation scoring failed", result.ScoreFailure, StringComparison.Ordinal);
        Assert.Contains(_model.Judgements, j => j.Task == "fuzzing");   // the other tasks did run
        Assert.Equal(2, _server.ChatRequests.Count(r => r.SystemText == DescriptionScorer.SimulationSystem));
    }

    [Fact]
    public async Task Scorer_failure_keeps_the_description_without_a_score()
    {
        _model.ScorerOverride = _ => ScriptedResponse.Error(503, "scorer down");
        using var describer = Describer(o => o.MaxRetries = 0);

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.True(result.Succeeded, result.Failure);
        Assert.Null(result.Score);
        Assert.Null(result.ScoreDetails);
        Assert.Contains("503", result.ScoreFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreadable_scorer_answers_give_no_score()
    {
        _model.ScorerOverride = _ => ScriptedResponse.Content("I think the first two, maybe.");
        using var describer = Describer();

        var result = await describer.DescribeAsync(_feature.Evidence());

        Assert.True(result.Succeeded);
        Assert.Null(result.Score);
        Assert.Contains("detection scoring failed", result.ScoreFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_reported_as_a_model_failure()
    {
        _server.Handler = r => ScriptedModel.Default(r).After(TimeSpan.FromSeconds(20));
        using var describer = Describer();
        using var cts = new CancellationTokenSource();
        var run = describer.DescribeAsync(_feature.Evidence(), cts.Token);
        while (_server.ChatRequests.Count == 0) await Task.Delay(10);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task Invalid_evidence_is_a_failure_without_any_model_call()
    {
        var bad = _feature.Evidence() with { TopExamples = [new AnnotatedExample(new ActivationExample("X", 1, 1, "MK", [1f]), [], [])] };
        using var describer = Describer();
        var result = await describer.DescribeAsync(bad);
        Assert.False(result.Succeeded);
        Assert.Contains("'X' has 1 activations for 2 residues", result.Failure, StringComparison.Ordinal);
        Assert.Empty(_server.ChatRequests);
    }
}
