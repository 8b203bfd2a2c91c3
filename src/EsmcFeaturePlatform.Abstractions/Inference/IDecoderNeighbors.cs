namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The port for "which features write in the same direction": the features whose SAE decoder rows
/// (W_dec[j, :]) have the highest cosine with feature i's. Evidence for the description agent and
/// the feature page. Implementations own the weights; callers may call from any thread.
/// </summary>
public interface IDecoderNeighbors
{
    /// <summary>
    /// For each of <paramref name="features"/>, the <paramref name="count"/> other features with the highest
    /// decoder cosine, highest first; the feature itself is never in its own list. Results in input order.
    /// Throws <see cref="UnknownSaeException"/> or <see cref="FeatureIndexOutOfRangeException"/> (nothing computed then).
    /// </summary>
    Task<DecoderNeighbor[][]> NearestByDecoderAsync(string saeId, IReadOnlyList<int> features, int count, CancellationToken cancellationToken = default);
}

/// <summary>A feature and the cosine between its decoder row and the queried feature's.</summary>
[GenerateSerializer, Alias("esmc.DecoderNeighbor.v1")]
public sealed record DecoderNeighbor([property: Id(0)] int Index, [property: Id(1)] float Cosine);

/// <summary>A feature index outside the SAE's codebook; the message names the valid range.</summary>
public class FeatureIndexOutOfRangeException(string saeId, int index, int codebookSize)
    : ArgumentOutOfRangeException(nameof(index), $"Feature index {index} is out of range for SAE '{saeId}': valid indices are 0..{codebookSize - 1}.");
