using GraphQL.DataLoader;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// A per-request data loader: resolvers ask for keys one by one and get a pending result; graphql-dotnet's
/// execution strategy awaits pending results only after the whole level was resolved, so the first await
/// fetches every key asked for so far in one call. (GraphQL.DataLoader is not available here; this is the
/// small part of it the API needs.)
/// </summary>
public sealed class BatchLoader<TKey, TValue>(Func<IReadOnlyList<TKey>, CancellationToken, Task<IReadOnlyDictionary<TKey, TValue>>> fetch)
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, Task<TValue?>> _known = [];
    private List<(TKey Key, TaskCompletionSource<TValue?> Result)> _pending = [];

    public IDataLoaderResult<TValue?> Load(TKey key)
    {
        lock (_gate)
        {
            if (!_known.TryGetValue(key, out var task))
            {
                var source = new TaskCompletionSource<TValue?>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending.Add((key, source));
                _known[key] = task = source.Task;
            }
            return new Pending(task, this);
        }
    }

    private async Task DispatchAsync(CancellationToken cancellationToken)
    {
        List<(TKey Key, TaskCompletionSource<TValue?> Result)> batch;
        lock (_gate)
        {
            batch = _pending;
            _pending = [];
        }
        if (batch.Count == 0) return;
        try
        {
            var keys = batch.Select(b => b.Key).ToArray();
            var values = await TransientReads.RetryOnceAsync(() => fetch(keys, cancellationToken), cancellationToken);
            foreach (var (key, result) in batch) result.TrySetResult(values.TryGetValue(key, out var value) ? value : default);
        }
        catch (Exception ex)
        {
            foreach (var (_, result) in batch) result.TrySetException(ex);
        }
    }

    private sealed class Pending(Task<TValue?> task, BatchLoader<TKey, TValue> owner) : IDataLoaderResult<TValue?>
    {
        public async Task<TValue?> GetResultAsync(CancellationToken cancellationToken = default)
        {
            if (!task.IsCompleted) await owner.DispatchAsync(cancellationToken);
            return await task;
        }

        async Task<object?> IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => await GetResultAsync(cancellationToken);
    }
}
