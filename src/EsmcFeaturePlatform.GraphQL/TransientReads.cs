using GraphQL;
using GraphQL.Instrumentation;
using GraphQLParser.AST;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// Reads that met a platform which did not answer in time are tried once more within the request. The usual cause is
/// a grain still activating (reading its state from storage) when the call's response timeout ran out: after a cold
/// restart under load, a first full read activates hundreds of grains at once. By the second try that activation is
/// done, so the caller gets the data instead of an error. A read that times out twice answers UNAVAILABLE with a retry
/// hint (PlatformErrorInfoProvider); OVERLOADED stays what it means: the inference queue is full or the rate limit hit.
/// Only reads are retried: a mutation that timed out may have been applied.
/// </summary>
public static class TransientReads
{
    /// <summary>A grain call that was not answered within Orleans' response timeout.</summary>
    public static bool IsRetryable(Exception ex) => ex is TimeoutException;

    public static async Task<T> RetryOnceAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (IsRetryable(ex) && !cancellationToken.IsCancellationRequested)
        {
            return await read();
        }
    }
}

/// <summary>Every field of a query operation through <see cref="TransientReads"/> (batch loaders retry their fetch the same way).</summary>
internal sealed class TransientReadRetry : IFieldMiddleware
{
    public async ValueTask<object?> ResolveAsync(IResolveFieldContext context, FieldMiddlewareDelegate next)
    {
        if (context.Operation.Operation != OperationType.Query) return await next(context);
        try
        {
            return await next(context);
        }
        catch (Exception ex) when (TransientReads.IsRetryable(ex) && !context.CancellationToken.IsCancellationRequested)
        {
            return await next(context);
        }
    }
}
