using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>A loaded value mapped on the way out, still deferred so the batch stays whole.</summary>
public sealed class DataLoaderProjection<TIn, TOut>(global::GraphQL.DataLoader.IDataLoaderResult<TIn?> inner, Func<TIn?, TOut?> map)
    : global::GraphQL.DataLoader.IDataLoaderResult<TOut?>
{
    public async Task<TOut?> GetResultAsync(CancellationToken cancellationToken = default) => map(await inner.GetResultAsync(cancellationToken));

    async Task<object?> global::GraphQL.DataLoader.IDataLoaderResult.GetResultAsync(CancellationToken cancellationToken) => await GetResultAsync(cancellationToken);
}
