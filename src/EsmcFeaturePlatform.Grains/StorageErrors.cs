using System.Net.Sockets;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Storage;

namespace EsmcFeaturePlatform.Grains;

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
