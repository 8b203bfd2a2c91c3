using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Concurrency;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// Decoder neighbours from the calling silo's own inference library (all silos load the same model root), so the
/// query runs on the silo that already holds the weights in its worker; the worker thread does the product.
/// </summary>
[StatelessWorker]
public sealed class DecoderNeighborsGrain(IDecoderNeighbors neighbors) : Grain, IDecoderNeighborsGrain
{
    public async Task<NeighborOutcome> NearestAsync(string saeId, int[] features, int count)
    {
        try
        {
            return new NeighborOutcome(await neighbors.NearestByDecoderAsync(saeId, features, count), NeighborFailure.None, null);
        }
        catch (UnknownSaeException ex) { return NeighborOutcome.Failed(NeighborFailure.UnknownSae, ex.Message); }
        catch (FeatureIndexOutOfRangeException ex) { return NeighborOutcome.Failed(NeighborFailure.IndexOutOfRange, ex.Message); }
        catch (ArgumentOutOfRangeException ex) { return NeighborOutcome.Failed(NeighborFailure.IndexOutOfRange, ex.Message); }
    }
}
