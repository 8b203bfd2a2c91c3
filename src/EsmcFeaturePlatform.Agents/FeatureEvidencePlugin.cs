using System.Collections.Concurrent;
using System.ComponentModel;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Agents.Evidence;
using Microsoft.SemanticKernel;

namespace EsmcFeaturePlatform.Agents;

/// <summary>
/// The evidence of one feature as Kernel functions the model may call. Built over the examples the
/// explainer is allowed to see only, so no function can leak a held-out protein.
/// </summary>
public sealed class FeatureEvidencePlugin(EvidenceAnalysis analysis)
{
    public const string PluginName = "evidence";

    private readonly ConcurrentQueue<string> _calls = new();

    /// <summary>Names of the functions the model called, in order; kept with the transcript.</summary>
    public IReadOnlyCollection<string> Calls => _calls;

    [KernelFunction("get_top_examples")]
    [Description("Top-activating example proteins, strongest first. Active residues are marked [X:n] with n the activation scaled 0-10 against the feature's maximum; a window of residues around each peak is shown, with UniProt annotations at the active residues.")]
    public string GetTopExamples([Description("How many examples (1-40).")] int count = 10)
    {
        _calls.Enqueue("get_top_examples");
        var top = analysis.Evidence.TopExamples.Count > 0 ? analysis.Evidence.TopExamples : analysis.Activating;
        return EvidenceText.Examples(analysis, top, Math.Clamp(count, 1, 40));
    }

    [KernelFunction("get_quantile_examples")]
    [Description("Example proteins sampled across the whole range of activation strengths (weak to strong), marked like the top examples. Use them to see what the feature responds to beyond its strongest cases.")]
    public string GetQuantileExamples()
    {
        _calls.Enqueue("get_quantile_examples");
        return EvidenceText.Examples(analysis, analysis.Evidence.QuantileExamples.OrderByDescending(e => e.Example.MaxValue), analysis.Settings.MaxPromptExamples);
    }

    [KernelFunction("get_non_activating_examples")]
    [Description("Proteins in which the feature does not fire at all (counterexamples), with their keywords.")]
    public string GetNonActivatingExamples([Description("How many examples (1-40).")] int count = 10)
    {
        _calls.Enqueue("get_non_activating_examples");
        return EvidenceText.NonActivating(analysis, Math.Clamp(count, 1, 40));
    }

    [KernelFunction("get_annotation_enrichment")]
    [Description("Which UniProt feature types (TRANSMEM, DOMAIN, DISULFID, ...) and keywords overlap the feature's active residues or proteins more than chance, with precision, recall, F1, fold enrichment and Bonferroni-corrected p-values.")]
    public string GetAnnotationEnrichment()
    {
        _calls.Enqueue("get_annotation_enrichment");
        return EvidenceText.Enrichment(analysis);
    }

    [KernelFunction("get_residue_statistics")]
    [Description("Amino-acid composition of the active residues compared with the background, the residue at each example's peak, and the 3-residue motifs most shared by active stretches.")]
    public string GetResidueStatistics()
    {
        _calls.Enqueue("get_residue_statistics");
        return EvidenceText.Residues(analysis);
    }

    [KernelFunction("get_activation_pattern")]
    [Description("How activation is laid out along a protein: point (one or two residues), motif (a contiguous stretch), periodic (a regular train of short runs) or whole (most of the protein).")]
    public string GetActivationPattern()
    {
        _calls.Enqueue("get_activation_pattern");
        return EvidenceText.Pattern(analysis);
    }

    [KernelFunction("get_nearest_features")]
    [Description("Other features of the same SAE whose decoder directions are closest (cosine), with their labels when they have one.")]
    public string GetNearestFeatures()
    {
        _calls.Enqueue("get_nearest_features");
        return EvidenceText.Neighbours(analysis);
    }
}
