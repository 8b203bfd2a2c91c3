using EsmcFeaturePlatform.Abstractions;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

/// <summary>The rule every job uses to wait and resume rather than fail.</summary>
public static class TransientFaults
{
    /// <summary>
    /// Lost silos, full queues, a grain that dropped its activation after a failed write, and storage away (StorageErrors).
    /// </summary>
    public static bool IsTransient(Exception ex) => ex is SiloUnavailableException or TimeoutException or OverloadedException
        or OrleansMessageRejectionException or InconsistentStateException or ClientNotAvailableException
        || StorageErrors.IsTransient(ex)
        || (ex is OrleansException && ex is not OrleansConfigurationException);
}
