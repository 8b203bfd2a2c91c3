namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// Everything a describer may look at for one feature. The describer itself carves a held-out
/// scoring set out of <see cref="QuantileExamples"/> and <see cref="NonActivatingExamples"/> before
/// any prompt is built, so callers pass everything they have and need not split.
/// </summary>
public sealed record FeatureEvidence(
    FeatureKey Feature,
    FeatureStats? Stats,
    IReadOnlyList<AnnotatedExample> TopExamples,
    IReadOnlyList<AnnotatedExample> QuantileExamples,
    IReadOnlyList<AnnotatedExample> NonActivatingExamples,
    IReadOnlyList<NeighbourFeature> NearestFeatures)
{
    /// <summary>
    /// The SAE's family of enrichment tests (every feature x concept over the stored top examples), to correct this
    /// feature's tests against; null = correct over the feature's own tests only.
    /// </summary>
    public Evidence.EnrichmentFamily? EnrichmentFamily { get; init; }
}

/// <summary>An example protein with its UniProt feature table and keywords (both may be empty).</summary>
public sealed record AnnotatedExample(ActivationExample Example, IReadOnlyList<ResidueAnnotation> Annotations, IReadOnlyList<string> Keywords);

/// <summary>One UniProt feature-table entry; positions are 1-based and inclusive.</summary>
public sealed record ResidueAnnotation(string Type, int Start, int End, string? Note);

/// <summary>A feature close to the described one by decoder cosine, with its current label if it has one.</summary>
public sealed record NeighbourFeature(int Index, double DecoderCosine, string? Label);

/// <summary>The structured answer of a describer; validated against schemas/feature-description.schema.json.</summary>
public sealed record DescriberOutput(string Label, string Description, string ActivationPattern, double Confidence, IReadOnlyList<string> EvidenceCited);

/// <summary>
/// The outcome of one describe call. <see cref="Output"/> is null exactly when the description
/// failed (<see cref="Failure"/> says why); such a result must not be stored as a description.
/// <see cref="Score"/> is null when no score was measured; when scoring was attempted and failed,
/// <see cref="ScoreFailure"/> says why and the description itself is still usable.
/// </summary>
public sealed record DescriptionResult(
    DescriberOutput? Output,
    DescriptionSource Source,
    string Author,
    double? Score,
    ScoreDetails? ScoreDetails,
    string? Failure,
    int PromptTokens,
    int CompletionTokens,
    string? ScoreFailure = null)
{
    /// <summary>True when the describer produced a description (a failure leaves <see cref="Output"/> null and says why in <see cref="Failure"/>).</summary>
    public bool Succeeded => Output is not null;
}

/// <summary>
/// How a score was measured (the delphi-style detection and fuzzing tasks on held-out proteins, and the
/// OpenAI/InterPLM-style simulation: Pearson correlation between the residue activations the scorer predicts
/// from the description and the true ones, pooled over every residue of the held-out windows), kept so a score
/// can be audited. Persistable: grains may store it beside the description.
/// </summary>
[GenerateSerializer, Alias("esmc.ScoreDetails.v1")]
public sealed record ScoreDetails(
    [property: Id(0)] double DetectionBalancedAccuracy,
    [property: Id(1)] double FuzzingBalancedAccuracy,
    [property: Id(2)] int HeldOutActivating,
    [property: Id(3)] int HeldOutNonActivating,
    [property: Id(4)] string Model,
    [property: Id(5)] string PromptVersion,
    [property: Id(6)] ScoredItem[] Items,
    [property: Id(7)] double? SimulationCorrelation = null,
    [property: Id(8)] SimulatedWindow[]? Simulations = null);

/// <summary>One held-out window of the simulation task: true activations (scaled 0-10 against the feature's maximum) and the scorer's predictions.</summary>
[GenerateSerializer, Alias("esmc.SimulatedWindow.v1")]
public sealed record SimulatedWindow(
    [property: Id(0)] string SequenceId,
    [property: Id(1)] int Start,
    [property: Id(2)] double[] Actual,
    [property: Id(3)] double[] Predicted);

/// <summary>One scorer judgement: the task (detection or fuzzing), the protein, the truth and the scorer's answer.</summary>
[GenerateSerializer, Alias("esmc.ScoredItem.v1")]
public sealed record ScoredItem(
    [property: Id(0)] string Task,
    [property: Id(1)] string SequenceId,
    [property: Id(2)] bool Actual,
    [property: Id(3)] bool Predicted);

/// <summary>The description port. Implementations never throw for model failures: they return a result with <see cref="DescriptionResult.Failure"/> set.</summary>
public interface IFeatureDescriber
{
    /// <summary>False for the offline evidence-only describer; lets hosts say in the open that no LLM is configured.</summary>
    bool UsesLanguageModel { get; }

    /// <summary>Describes one feature from its evidence; a model failure is a result with <see cref="DescriptionResult.Failure"/> set, never an exception.</summary>
    Task<DescriptionResult> DescribeAsync(FeatureEvidence evidence, CancellationToken ct = default);
}
