using EsmcFeaturePlatform.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// The platform's real grain storage (Azure blobs on Azurite), with chosen writes of feature pages failing as a storage
/// service's 503 would: to test what a job does when storage fails in the middle of a window. Everything else, and
/// every other write, goes to the real storage unchanged.
/// </summary>
internal sealed class FaultyPageStorage(IGrainStorage inner, Func<int, bool> failWrite) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private const string PageStateName = "featurePage";
    private int pageWrites;

    /// <summary>Page writes so far, failed ones included.</summary>
    public int PageWrites => Volatile.Read(ref pageWrites);

    /// <summary>Replaces the platform's storage in <paramref name="services"/>; <paramref name="failWrite"/> gets the 1-based number of each page write.</summary>
    public static void Install(IServiceCollection services, Func<int, bool> failWrite, Action<FaultyPageStorage>? created = null)
    {
        var original = services.Single(d => d.ServiceType == typeof(IGrainStorage) && d.IsKeyedService && Equals(d.ServiceKey, GrainStorage.Name));
        var factory = original.KeyedImplementationFactory ?? throw new InvalidOperationException("The grain storage is not registered by a factory.");
        services.Remove(original);
        services.AddKeyedSingleton<IGrainStorage>(GrainStorage.Name, (sp, key) =>
        {
            var faulty = new FaultyPageStorage((IGrainStorage)factory(sp, key), failWrite);
            created?.Invoke(faulty);
            return faulty;
        });
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (stateName == PageStateName && failWrite(Interlocked.Increment(ref pageWrites)))
            throw new Azure.RequestFailedException(503, "Injected storage failure (test).");
        return inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    // The real storage starts with the silo (its container is created then): keep it in the silo's lifecycle.
    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
}
