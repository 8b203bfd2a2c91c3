using System.Net.Sockets;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

/*
 * Design note: memory never runs ahead of storage.
 *
 * Every grain that persists state changes it in memory and then writes it. When the write fails, memory holds what
 * storage does not (or, when only the answer was lost, storage holds it under an ETag this activation does not
 * know). A caller retrying must never meet that activation: it would see the change as done (an idempotence
 * marker, "window applied", "version stored") and build on it, and the numbers would be wrong after the next
 * restart. So every write goes through WriteOrDropAsync: on failure the activation is dropped before the caller
 * hears of it, and the retry meets a fresh activation that reads what storage really holds. Markers that make a
 * retry a no-op live in the same state as the data they guard, so they are written with it, never before.
 */
public static class StorageWrites
{
    /// <summary>
    /// Writes the grain's state; when the write fails the activation is dropped (its memory may be ahead of storage)
    /// and a storage outage is reported as <see cref="StorageUnavailableException"/> (retryable, UNAVAILABLE to API callers).
    /// </summary>
    public static async Task WriteOrDropAsync<T>(this IPersistentState<T> state, IGrainBase grain)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            grain.DeactivateOnIdle();
            if (ex is not InconsistentStateException && StorageErrors.IsTransient(ex))
                throw new StorageUnavailableException($"Storage is unavailable ({StorageErrors.Describe(ex)}); nothing was changed. Retry in a few seconds.");
            throw;
        }
    }
}
