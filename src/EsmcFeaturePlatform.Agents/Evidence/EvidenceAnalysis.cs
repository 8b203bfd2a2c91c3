using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;

namespace EsmcFeaturePlatform.Agents.Evidence;

/// <summary>Settings of evidence assembly; defaults follow delphi (0.3 x max highlights, 10 quantiles) and docs/description-agent.md, section 2 (+-16 residues).</summary>
public sealed record EvidenceSettings(double ActiveThreshold = AnnotationEnrichment.DefaultActiveThreshold, int WindowRadius = 16, int MaxPromptExamples = 40, int MaxNonActivatingInPrompt = 10);

/// <summary>
/// All derived evidence of one feature, computed once from the examples the explainer may see
/// (never from held-out ones) and shared by the prompt, the kernel functions and the evidence-only describer.
/// </summary>
public sealed class EvidenceAnalysis
{
    private EvidenceAnalysis(FeatureEvidence evidence, EvidenceSettings settings, IReadOnlyList<AnnotatedExample> activating,
        double featureMax, EnrichmentReport enrichment, ResidueReport residues, PatternReport pattern)
    {
        Evidence = evidence;
        Settings = settings;
        Activating = activating;
        FeatureMax = featureMax;
        Enrichment = enrichment;
        Residues = residues;
        Pattern = pattern;
    }

    public FeatureEvidence Evidence { get; }
    public EvidenceSettings Settings { get; }
    /// <summary>Top and quantile examples, each protein once, strongest first.</summary>
    public IReadOnlyList<AnnotatedExample> Activating { get; }
    public double FeatureMax { get; }
    public EnrichmentReport Enrichment { get; }
    public ResidueReport Residues { get; }
    public PatternReport Pattern { get; }

    public static EvidenceAnalysis Build(FeatureEvidence evidence, EvidenceSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        settings ??= new EvidenceSettings();
        if (settings.ActiveThreshold is < 0 or >= 1 || double.IsNaN(settings.ActiveThreshold))
            throw new ArgumentException($"ActiveThreshold must be in [0,1), got {settings.ActiveThreshold}.", nameof(settings));
        foreach (var e in evidence.TopExamples.Concat(evidence.QuantileExamples).Concat(evidence.NonActivatingExamples))
            Check(e);
        var activating = evidence.TopExamples.Concat(evidence.QuantileExamples)
            .DistinctBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            .OrderByDescending(e => e.Example.MaxValue).ThenBy(e => e.Example.SequenceId, StringComparer.Ordinal)
            .ToList();
        var observedMax = activating.Count == 0 ? 0 : activating.Max(e => (double)ActivationMarkup.PeakOf(e.Example));
        var featureMax = evidence.Stats?.MaxActivation is float m && m > 0 ? Math.Max(m, observedMax) : observedMax;
        var enrichment = AnnotationEnrichment.Compute(activating, evidence.NonActivatingExamples, settings.ActiveThreshold, evidence.EnrichmentFamily);
        var residues = ResidueStatistics.Compute(activating, settings.ActiveThreshold);
        var pattern = ActivationPatternClassifier.Classify(activating, settings.ActiveThreshold);
        return new EvidenceAnalysis(evidence, settings, activating, featureMax, enrichment, residues, pattern);
    }

    /// <summary>Bad examples are rejected up front with the protein named, rather than failing deep in a formatter.</summary>
    private static void Check(AnnotatedExample e)
    {
        ArgumentNullException.ThrowIfNull(e.Example);
        var ex = e.Example;
        if (string.IsNullOrEmpty(ex.Sequence))
            throw new ArgumentException($"Example '{ex.SequenceId}' has an empty sequence.");
        if (ex.Activations is null)
            throw new ArgumentException($"Example '{ex.SequenceId}' has no activations array.");
        if (ex.Activations.Length != 0 && ex.Activations.Length != ex.Sequence.Length)
            throw new ArgumentException($"Example '{ex.SequenceId}' has {ex.Activations.Length} activations for {ex.Sequence.Length} residues.");
        foreach (var a in ex.Activations)
            if (float.IsNaN(a) || float.IsInfinity(a))
                throw new ArgumentException($"Example '{ex.SequenceId}' has a non-finite activation.");
    }
}
