using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Evidence;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;

namespace EsmcFeaturePlatform.Agents.Scoring;

public sealed record ScoreOutcome(double? Score, ScoreDetails? Details, string? Failure, int PromptTokens, int CompletionTokens);

/// <summary>
/// Scores a description the way delphi does, on proteins the explainer never saw: detection (which of
/// these windows contain the feature?) and fuzzing (are the marked residues the active ones? negatives
/// get random marks, as many as the positives have on average). Each task's balanced accuracy over the
/// balanced held-out set; the score is their mean. Beside it, simulation (docs/description-agent.md, sections 1 and 4): the
/// scorer predicts every residue's activation 0-10 from the description, and the Pearson correlation with
/// the true activations, pooled over all residues of the same windows, is kept in the details. No logprobs
/// needed. Any failed call means no score at all.
/// </summary>
public sealed class DescriptionScorer(IChatCompletionService chat, AgentOptions options)
{
    public const string DetectionTask = "detection";
    public const string FuzzingTask = "fuzzing";
    public const string SimulationTask = "simulation";
    public const string PromptVersion = Prompts.Version + "/score-v2";

    public static string DetectionSystem { get; } =
        """
        You evaluate a description of a feature of a protein language model. You are shown numbered windows of
        protein sequences (single-letter amino acids separated by spaces). For each window, decide whether the
        described feature fires somewhere in it. Reply with only a JSON object {"answers": [...]} holding one
        0 (no) or 1 (yes) per window, in the order given.
        """;

    public static string FuzzingSystem { get; } =
        """
        You evaluate a description of a feature of a protein language model. You are shown numbered windows of
        protein sequences (single-letter amino acids separated by spaces) in which some residues are marked
        [X]. For each window, decide whether the marked residues are exactly where the described feature
        fires. Reply with only a JSON object {"answers": [...]} holding one 1 (correctly marked) or 0
        (wrongly marked) per window, in the order given.
        """;

    public static string SimulationSystem { get; } =
        """
        You evaluate a description of a feature of a protein language model. You are shown numbered windows of
        protein sequences (single-letter amino acids separated by spaces). From the description alone, predict
        how strongly the feature fires at every residue, as an integer from 0 (not at all) to 10 (its strongest).
        Reply with only a JSON object {"answers": [[...], [...]]} holding one array per window, in the order
        given, with exactly one number per residue of that window.
        """;

    /// <summary>A held-out window; <see cref="Truth"/> is its activations scaled 0-10 against the feature's maximum (zeros for a negative).</summary>
    private sealed record Item(string SequenceId, bool Actual, string Detection, string Fuzzing, int Start, double[] Truth);

    public async Task<ScoreOutcome> ScoreAsync(FeatureKey feature, DescriberOutput output, HeldOutSet heldOut, CancellationToken ct)
    {
        if (!heldOut.CanScore) return new ScoreOutcome(null, null, "not enough held-out proteins to score (need activating and non-activating)", 0, 0);
        var rng = new Random(TokenUsage.StableSeed(feature.ToString()));
        var radius = Math.Max(8, options.WindowRadius * 2);
        // Truth is scaled against the strongest held-out activation; Pearson is scale-free, the 0-10 scale is for the transcript.
        var scale = heldOut.Activating.Select(e => (double)ActivationMarkup.PeakOf(e.Example)).DefaultIfEmpty(0).Max();
        var positives = heldOut.Activating.Select(e => Positive(e.Example, radius, scale)).ToList();
        var meanMarks = positives.Count == 0 ? 1 : (int)Math.Ceiling(positives.Average(p => p.Marks));
        var items = positives.Select(p => p.Item)
            .Concat(heldOut.NonActivating.Select(e => Negative(e.Example, radius, Math.Max(1, meanMarks), rng)))
            .OrderBy(_ => rng.Next())
            .ToList();

        var header = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Feature label: {output.Label}")
            .AppendLine(CultureInfo.InvariantCulture, $"Description: {output.Description}")
            .AppendLine(CultureInfo.InvariantCulture, $"Activation pattern: {output.ActivationPattern}")
            .ToString();

        var judged = new List<ScoredItem>();
        var prompt = 0;
        var completion = 0;
        foreach (var (task, system) in new[] { (DetectionTask, DetectionSystem), (FuzzingTask, FuzzingSystem) })
        {
            foreach (var batch in items.Chunk(options.ScoreBatchSize))
            {
                var user = new StringBuilder(header).AppendLine().AppendLine("Windows:");
                for (var i = 0; i < batch.Length; i++)
                    user.Append(i + 1).Append(". ").AppendLine(task == DetectionTask ? batch[i].Detection : batch[i].Fuzzing);
                var (answers, p, c, failure) = await AskAsync(system, user.ToString(), batch.Length, ct);
                prompt += p;
                completion += c;
                if (answers is null) return new ScoreOutcome(null, null, $"{task} scoring failed: {failure}", prompt, completion);
                for (var i = 0; i < batch.Length; i++) judged.Add(new ScoredItem(task, batch[i].SequenceId, batch[i].Actual, answers[i]));
            }
        }

        var simulated = new List<SimulatedWindow>();
        foreach (var batch in items.Chunk(options.ScoreBatchSize))
        {
            var user = new StringBuilder(header).AppendLine().AppendLine("Windows:");
            for (var i = 0; i < batch.Length; i++) user.Append(i + 1).Append(". ").AppendLine(batch[i].Detection);
            var (predictions, p, c, failure) = await AskLevelsAsync(user.ToString(), [.. batch.Select(b => b.Truth.Length)], ct);
            prompt += p;
            completion += c;
            if (predictions is null) return new ScoreOutcome(null, null, $"{SimulationTask} scoring failed: {failure}", prompt, completion);
            for (var i = 0; i < batch.Length; i++) simulated.Add(new SimulatedWindow(batch[i].SequenceId, batch[i].Start, batch[i].Truth, predictions[i]));
        }

        var detection = BalancedAccuracy(judged.Where(j => j.Task == DetectionTask));
        var fuzzing = BalancedAccuracy(judged.Where(j => j.Task == FuzzingTask));
        var correlation = Pearson(simulated.SelectMany(w => w.Actual).ToArray(), simulated.SelectMany(w => w.Predicted).ToArray());
        var details = new ScoreDetails(detection, fuzzing, heldOut.Activating.Count, heldOut.NonActivating.Count, options.Model, PromptVersion, [.. judged],
            correlation, [.. simulated]);
        return new ScoreOutcome((detection + fuzzing) / 2, details, null, prompt, completion);
    }

    /// <summary>Mean of the true-positive and true-negative rates: 0.5 for a judge that always says yes (or no).</summary>
    public static double BalancedAccuracy(IEnumerable<ScoredItem> items)
    {
        int tp = 0, fn = 0, tn = 0, fp = 0;
        foreach (var i in items)
        {
            if (i.Actual) { if (i.Predicted) tp++; else fn++; }
            else if (i.Predicted) fp++;
            else tn++;
        }
        if (tp + fn == 0 || tn + fp == 0) throw new InvalidOperationException("Balanced accuracy needs both positive and negative items.");
        return 0.5 * ((double)tp / (tp + fn) + (double)tn / (tn + fp));
    }

    /// <summary>
    /// Pearson correlation of two equally long series. A constant prediction carries no information about where
    /// the feature fires, so it scores 0 rather than an undefined value.
    /// </summary>
    public static double Pearson(double[] actual, double[] predicted)
    {
        if (actual.Length != predicted.Length) throw new ArgumentException($"Pearson needs series of equal length; got {actual.Length} and {predicted.Length}.");
        if (actual.Length == 0) return 0;
        double ma = actual.Average(), mp = predicted.Average(), sap = 0, saa = 0, spp = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            var a = actual[i] - ma;
            var p = predicted[i] - mp;
            sap += a * p;
            saa += a * a;
            spp += p * p;
        }
        return saa == 0 || spp == 0 ? 0 : sap / Math.Sqrt(saa * spp);
    }

    private Task<(double[][]? Answer, int Prompt, int Completion, string? Failure)> AskLevelsAsync(string user, int[] lengths, CancellationToken ct) =>
        // One number per residue: ~35 windows-worth of residues need more room than a list of 0/1 answers.
        AskUntilReadableAsync(SimulationSystem, user, 200 + 4 * lengths.Sum(), reply => ParseLevels(reply, lengths),
            $"{{\"answers\": [[...], ...]}} holding {lengths.Length} arrays of {string.Join(", ", lengths)} integers from 0 to 10", ct);

    /// <summary>
    /// The "answers" array of a model's reply: the JSON from its first brace or bracket to the matching last one (models
    /// wrap JSON in prose or code fences), either an object holding "answers" or a bare array.
    /// </summary>
    private static (JsonArray? Array, string? Problem) AnswersArray(string? text, string shape)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, "the answer was empty");
        var t = text.Trim();
        var start = t.IndexOfAny(['{', '[']);
        if (start < 0) return (null, "no JSON found");
        JsonNode? node;
        try
        {
            var end = t[start] == '{' ? t.LastIndexOf('}') : t.LastIndexOf(']');
            node = JsonNode.Parse(end > start ? t[start..(end + 1)] : t[start..]);
        }
        catch (JsonException ex)
        {
            return (null, "invalid JSON: " + ex.Message);
        }
        var array = node as JsonArray ?? (node as JsonObject)?["answers"] as JsonArray;
        return array is null ? (null, $"expected an object with an \"answers\" {shape}") : (array, null);
    }

    /// <summary>Reads {"answers": [[...], ...]} (or a bare array of arrays): one array per window with exactly that window's residue count of numbers in [0, 10].</summary>
    public static (double[][]? Levels, string? Problem) ParseLevels(string? text, int[] lengths)
    {
        var (array, problem) = AnswersArray(text, "array of arrays");
        if (array is null) return (null, problem);
        if (array.Count != lengths.Length) return (null, $"expected {lengths.Length} arrays, got {array.Count}");
        var result = new double[lengths.Length][];
        for (var w = 0; w < lengths.Length; w++)
        {
            if (array[w] is not JsonArray window) return (null, $"window {w + 1} is not an array");
            if (window.Count != lengths[w]) return (null, $"window {w + 1} has {lengths[w]} residues, got {window.Count} numbers");
            result[w] = new double[lengths[w]];
            for (var i = 0; i < lengths[w]; i++)
            {
                if (window[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || v.GetValue<double>() is < 0 or > 10 or double.NaN)
                    return (null, $"window {w + 1}, residue {i + 1} is not a number from 0 to 10");
                result[w][i] = v.GetValue<double>();
            }
        }
        return (result, null);
    }

    private Task<(bool[]? Answer, int Prompt, int Completion, string? Failure)> AskAsync(string system, string user, int expected, CancellationToken ct) =>
        AskUntilReadableAsync(system, user, 200, reply => ParseAnswers(reply, expected),
            $"{{\"answers\": [...]}} holding exactly {expected} values, each 0 or 1", ct);

    /// <summary>
    /// One question to the model, asked again once (with the reason) when its reply cannot be read; tokens of both
    /// tries are counted. Null with the last problem when neither reply was readable: never a guessed answer.
    /// </summary>
    private async Task<(T? Answer, int Prompt, int Completion, string? Failure)> AskUntilReadableAsync<T>(
        string system, string user, int maxTokens, Func<string?, (T? Value, string? Problem)> parse, string expectedShape, CancellationToken ct)
        where T : class
    {
        var history = new ChatHistory(system);
        history.AddUserMessage(user);
        var settings = new OpenAIPromptExecutionSettings { Temperature = 0, MaxTokens = maxTokens };
        int prompt = 0, completion = 0;
        string? problem = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var reply = await chat.GetChatMessageContentAsync(history, settings, kernel: null, ct);
            var (p, c) = TokenUsage.Of(reply);
            prompt += p;
            completion += c;
            (var answer, problem) = parse(reply.Content);
            if (answer is not null) return (answer, prompt, completion, null);
            history.Add(reply);
            history.AddUserMessage($"Your answer could not be read: {problem}. Reply with only {expectedShape}.");
        }
        return (null, prompt, completion, problem);
    }

    /// <summary>Reads {"answers":[...]} or a bare array of 0/1/true/false with exactly the expected count.</summary>
    public static (bool[]? Answers, string? Problem) ParseAnswers(string? text, int expected)
    {
        var (array, problem) = AnswersArray(text, "array");
        if (array is null) return (null, problem);
        if (array.Count != expected) return (null, $"expected {expected} answers, got {array.Count}");
        var result = new bool[expected];
        for (var i = 0; i < expected; i++)
        {
            if (array[i] is not JsonValue v) return (null, $"answer {i + 1} is not 0 or 1");
            switch (v.GetValueKind())
            {
                case JsonValueKind.True: result[i] = true; break;
                case JsonValueKind.False: result[i] = false; break;
                case JsonValueKind.Number when v.GetValue<double>() is 0 or 1: result[i] = v.GetValue<double>() == 1; break;
                default: return (null, $"answer {i + 1} is not 0 or 1");
            }
        }
        return (result, null);
    }

    private (Item Item, int Marks) Positive(ActivationExample ex, int radius, double scale)
    {
        var mask = ActivationMarkup.ActiveMask(ex, options.ActiveThreshold);
        var peak = Math.Max(0, ActivationMarkup.PeakIndex(ex));
        var (start, end) = Window(ex.Sequence.Length, peak, radius);
        var marks = 0;
        for (var i = start; i <= end; i++) if (i < mask.Length && mask[i]) marks++;
        var truth = new double[end - start + 1];
        for (var i = start; i <= end; i++)
            truth[i - start] = scale > 0 && i < ex.Activations.Length ? Math.Round(10 * Math.Max(0, ex.Activations[i]) / scale, 2) : 0;
        return (new Item(ex.SequenceId, true, Render(ex.Sequence, start, end, null), Render(ex.Sequence, start, end, mask), start, truth), marks);
    }

    private static Item Negative(ActivationExample ex, int radius, int marks, Random rng)
    {
        var len = ex.Sequence.Length;
        var width = Math.Min(len, 2 * radius + 1);
        var start = len > width ? rng.Next(0, len - width + 1) : 0;
        var end = start + width - 1;
        var mask = new bool[len];
        // Random marks in the window, as many as the positives carry on average (delphi's fuzzing negatives).
        foreach (var i in Enumerable.Range(start, width).OrderBy(_ => rng.Next()).Take(Math.Min(marks, width))) mask[i] = true;
        return new Item(ex.SequenceId, false, Render(ex.Sequence, start, end, null), Render(ex.Sequence, start, end, mask), start, new double[end - start + 1]);
    }

    private static (int Start, int End) Window(int length, int centre, int radius)
    {
        var start = Math.Max(0, centre - radius);
        var end = Math.Min(length - 1, centre + radius);
        return (start, end);
    }

    private static string Render(string seq, int start, int end, bool[]? marks)
    {
        var sb = new StringBuilder();
        for (var i = start; i <= end; i++)
        {
            if (i > start) sb.Append(' ');
            if (marks is not null && i < marks.Length && marks[i]) sb.Append('[').Append(seq[i]).Append(']');
            else sb.Append(seq[i]);
        }
        return sb.ToString();
    }
}
