using System.Text;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Output;

namespace EsmcFeaturePlatform.Agents;

/// <summary>Prompt texts, versioned so a stored score can say which prompt produced it.</summary>
public static class Prompts
{
    public const string Version = "esmc-describe-v2";

    public static string ExplainerSystem { get; } =
        $$"""
        You are a careful computational biologist interpreting one feature of a sparse autoencoder trained on
        the residue embeddings of the ESMC protein language model. A feature fires on some residues of some
        proteins; your job is to say what it detects.

        Evidence format: residues are single-letter amino acids separated by spaces; residues where the
        feature is active are written [X:n], where X is the residue and n its activation scaled 0-10 against
        the feature's maximum. Windows of residues around each example's peak are shown.

        Work like this: read the examples given, then call the evidence functions (annotation enrichment,
        residue statistics, activation pattern, more examples, non-activating counterexamples, and the nearest
        features by decoder cosine with their labels) until you can state a hypothesis that explains the strong
        AND the weak examples and does not fire on the counterexamples. Prefer concepts with high F1 against
        UniProt annotations when they exist.
        Do not list examples in the description and do not mention the markers.

        Answer with one JSON object and nothing else:
        {"label": "a few words (at most {{DescriberOutputSchema.MaxLabelWords}})", "description": "one to four sentences",
         "activationPattern": one of {{string.Join(", ", ActivationPatterns.All.Select(p => "\"" + p + "\""))}},
         "confidence": a number from 0 to 1, "evidenceCited": ["short statements of the evidence used"]}
        """;

    public static string ExplainerUser(EvidenceAnalysis analysis)
    {
        var sb = new StringBuilder();
        sb.AppendLine(EvidenceText.Overview(analysis));
        sb.AppendLine();
        sb.AppendLine("Activating examples sampled across activation strengths (strongest first):");
        var shown = analysis.Evidence.QuantileExamples.Count > 0
            ? analysis.Evidence.QuantileExamples.OrderByDescending(e => e.Example.MaxValue).ThenBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            : (IEnumerable<EsmcFeaturePlatform.Abstractions.AnnotatedExample>)analysis.Activating;
        sb.AppendLine(EvidenceText.Examples(analysis, shown, analysis.Settings.MaxPromptExamples));
        sb.AppendLine();
        sb.AppendLine(EvidenceText.Pattern(analysis));
        sb.AppendLine();
        sb.Append("Call the evidence functions you need, then answer with the JSON object.");
        return sb.ToString();
    }

    public static string Correction(IReadOnlyList<string> errors) =>
        "Your answer could not be accepted: " + string.Join("; ", errors.Take(8))
        + ". Reply again with only the JSON object, with the fields label, description, activationPattern, confidence and evidenceCited.";
}
