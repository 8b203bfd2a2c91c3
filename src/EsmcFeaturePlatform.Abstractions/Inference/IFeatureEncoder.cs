namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The port through which everything above the inference library (grains, CLI, benchmarks) turns
/// protein sequences into SAE features. Implementations own their compute threads; callers may call
/// from any thread and concurrently. Values returned are always RAW (ReLU/top-k activations);
/// normalization is applied by the reader (<see cref="FeatureMath.Normalize(FeatureActivation[], NormalizationStats)"/>) so that newly
/// imported statistics never serve stale numbers.
/// </summary>
public interface IFeatureEncoder
{
    /// <summary>Every SAE that loaded, in a stable order.</summary>
    IReadOnlyList<SaeDescriptor> Saes { get; }

    /// <summary>Models and SAEs found under the model root that did not load, with the reason.</summary>
    IReadOnlyList<LoadProblem> LoadProblems { get; }

    /// <summary>The longest sequence <see cref="EncodeAsync"/> accepts, and the setting that raises it.</summary>
    SequenceLengthLimit LengthLimit { get; }

    /// <summary>The SAE's own statistics from its checkpoint (null when they are all-ones placeholders).</summary>
    NormalizationStats? GetCheckpointStatistics(string saeId);

    /// <summary>
    /// Encodes the sequences (1..n) with the SAE. Results come back in input order.
    /// Throws <see cref="InvalidSequenceException"/> naming the bad sequence (nothing is computed then),
    /// <see cref="UnknownSaeException"/>, or <see cref="OverloadedException"/> when the worker queue is full.
    /// </summary>
    Task<IReadOnlyList<EncodedSequence>> EncodeAsync(string saeId, IReadOnlyList<string> sequences, CancellationToken cancellationToken = default);
}

/// <summary>One loadable SAE: the id is <c>REPO_FOLDER_NAME/layerN</c> (docs/contracts.md, section 1).</summary>
[GenerateSerializer, Alias("esmc.SaeDescriptor.v1")]
public sealed record SaeDescriptor(
    [property: Id(0)] string Id,
    [property: Id(1)] string Model,
    [property: Id(2)] int Layer,
    [property: Id(3)] int K,
    [property: Id(4)] int CodebookSize,
    [property: Id(5)] int DModel,
    [property: Id(6)] bool HasCheckpointStatistics,
    [property: Id(7)] bool ResidualUpdate)
{
    /// <summary>The base model is a generated RANDOM demo checkpoint (DemoModel): its features carry no biological meaning.</summary>
    [Id(8)] public bool IsDemo { get; init; }

    /// <summary>What every answer about a demo SAE says (API notice fields, the REST routes, the web page's banner).</summary>
    public const string DemoNotice = "random demo weights: features carry no biological meaning";

    /// <summary><see cref="DemoNotice"/> for a demo SAE, else null.</summary>
    public string? Notice => IsDemo ? DemoNotice : null;
}

/// <summary>A model or SAE under the model root that did not load (docs/contracts.md, section 1).</summary>
/// <param name="Path">The file or folder.</param>
/// <param name="Reason">Why it did not load, in words a person can act on.</param>
[GenerateSerializer, Alias("esmc.LoadProblem.v1")]
public sealed record LoadProblem([property: Id(0)] string Path, [property: Id(1)] string Reason);

/// <summary>
/// Raw SAE features of one sequence. <see cref="Residues"/> has exactly <see cref="Length"/> rows
/// (residue 1..L, no &lt;cls&gt;/&lt;eos&gt;); each row is a feature list (value &gt; 0, value desc, index asc).
/// </summary>
[GenerateSerializer, Immutable, Alias("esmc.EncodedSequence.v1")]
public sealed record EncodedSequence(
    [property: Id(0)] string SaeId,
    [property: Id(1)] int Length,
    [property: Id(2)] FeatureActivation[][] Residues,
    [property: Id(3)] PooledActivation[] Pooled,
    [property: Id(4)] int UnknownTokens);

/// <summary>Per-feature statistics used for normalization: value / Max[j] * Idf[j].</summary>
[GenerateSerializer, Alias("esmc.NormalizationStats.v1")]
public sealed record NormalizationStats([property: Id(0)] float[] Max, [property: Id(1)] float[] Idf);

/// <summary>A sequence the input rule or the tokenizer refuses; the message names the record and the problem (API code BAD_USER_INPUT).</summary>
public class InvalidSequenceException(string message) : ArgumentException(message);

/// <summary>No SAE has the requested id (API code BAD_USER_INPUT).</summary>
public class UnknownSaeException(string saeId) : ArgumentException($"Unknown SAE '{saeId}'.")
{
    /// <summary>The id that was asked for.</summary>
    public string SaeId { get; } = saeId;
}

/// <summary>The inference queue is full; retry later (API code OVERLOADED).</summary>
public class OverloadedException(string message) : InvalidOperationException(message);
