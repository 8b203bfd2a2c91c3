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

/// <summary>The one rule for which storage failures are transient (worth retrying) rather than caused by the request.</summary>
public static class StorageErrors
{
    /// <summary>
    /// Connection refused or reset, timeouts, HTTP 408/429/5xx, the Azure SDK's aggregate of such attempts once its
    /// retries are spent, and our own <see cref="StorageUnavailableException"/>.
    /// </summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        StorageUnavailableException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient),
        Azure.RequestFailedException { Status: 0 or 408 or 429 or >= 500 } => true,
        Azure.RequestFailedException => false,
        TimeoutException or HttpRequestException or SocketException => true,
        // A connection reset mid-answer; files that are missing are the input's fault, not storage's.
        IOException and not (FileNotFoundException or DirectoryNotFoundException) => true,
        // The storage client's own network timeout surfaces as a cancellation nobody asked for.
        TaskCanceledException => true,
        // Orleans' storage providers wrap what the client threw.
        OrleansException { InnerException: { } inner } when inner is not null => IsTransient(inner),
        _ => false,
    };

    /// <summary>A one-line account of a storage failure for logs and job status (the SDK's aggregate messages run to pages).</summary>
    public static string Describe(Exception ex) => ex switch
    {
        AggregateException { InnerExceptions.Count: > 0 } aggregate => $"{aggregate.InnerExceptions.Count} attempts failed, last: {Describe(aggregate.InnerExceptions[^1])}",
        Azure.RequestFailedException { Status: > 0 } rf => $"HTTP {rf.Status} {rf.ErrorCode}".TrimEnd(),
        // "Error from storage provider ..." says which grain; what went wrong is inside.
        OrleansException { InnerException: { } inner } => Describe(inner),
        _ => FirstLine(ex.Message),
    };

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    /// <summary>
    /// A job waiting for storage: re-reads the grain's own state (which also forgets anything unsaved) with a backoff
    /// from 1 s to 30 s until storage answers. False when <paramref name="stop"/> ended the wait (the activation is
    /// going away; the watchdog resumes the job elsewhere).
    /// </summary>
    public static async Task<bool> WaitUntilReadableAsync<T>(this IPersistentState<T> state, ILogger logger, string jobId, CancellationToken stop)
    {
        var delay = TimeSpan.FromSeconds(1);
        try
        {
            while (true)
            {
                await Task.Delay(delay, stop);
                try
                {
                    await state.ReadStateAsync();
                    return true;
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    logger.LogInformation("Job {JobId}: storage still unavailable ({Error})", jobId, StorageErrors.Describe(ex));
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }
}
