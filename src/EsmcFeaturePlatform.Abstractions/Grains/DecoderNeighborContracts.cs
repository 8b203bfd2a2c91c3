namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>Why decoder neighbours were not computed.</summary>
public enum NeighborFailure
{
    /// <summary>They were computed.</summary>
    None = 0,
    /// <summary>No SAE has the id.</summary>
    UnknownSae = 1,
    /// <summary>A feature index is outside the codebook.</summary>
    IndexOutOfRange = 2,
    /// <summary>The inference worker was too busy; retry later.</summary>
    Overloaded = 3,
}

/// <summary>Decoder neighbours in input order, or the reason nothing was computed (exceptions do not cross silos reliably).</summary>
[GenerateSerializer, Alias("esmc.NeighborOutcome.v1")]
public sealed record NeighborOutcome(
    [property: Id(0)] DecoderNeighbor[][] Neighbors,
    [property: Id(1)] NeighborFailure Failure,
    [property: Id(2)] string? Message)
{
    /// <summary>An outcome with no neighbours, and the reason.</summary>
    public static NeighborOutcome Failed(NeighborFailure failure, string message) => new([], failure, message);
}

/// <summary>
/// Serves <see cref="IDecoderNeighbors"/> in the cluster from the calling silo's own inference library (every silo loads
/// the same model root), like the SAE catalog. One call answers a whole batch of features with one pass over W_dec.
/// </summary>
public interface IDecoderNeighborsGrain : IGrainWithIntegerKey
{
    /// <summary>The <paramref name="count"/> nearest features by decoder cosine of each of <paramref name="features"/>, in input order.</summary>
    Task<NeighborOutcome> NearestAsync(string saeId, int[] features, int count);
}
