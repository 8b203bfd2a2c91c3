namespace EsmcFeaturePlatform.Abstractions.Grains;

public enum NeighborFailure { None = 0, UnknownSae = 1, IndexOutOfRange = 2, Overloaded = 3 }

/// <summary>Decoder neighbours in input order, or the reason nothing was computed (exceptions do not cross silos reliably).</summary>
[GenerateSerializer, Alias("esmc.NeighborOutcome.v1")]
public sealed record NeighborOutcome(
    [property: Id(0)] DecoderNeighbor[][] Neighbors,
    [property: Id(1)] NeighborFailure Failure,
    [property: Id(2)] string? Message)
{
    public static NeighborOutcome Failed(NeighborFailure failure, string message) => new([], failure, message);
}

/// <summary>
/// Serves <see cref="IDecoderNeighbors"/> in the cluster from the calling silo's own inference library (every silo loads
/// the same model root), like the SAE catalog. One call answers a whole batch of features with one pass over W_dec.
/// </summary>
public interface IDecoderNeighborsGrain : IGrainWithIntegerKey
{
    Task<NeighborOutcome> NearestAsync(string saeId, int[] features, int count);
}
