namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// A hook the indexing job calls after a batch's feature writes and before it records the batch as committed:
/// the one moment where a lost silo leaves features ahead of the job. Tests use it to stop a silo exactly there.
/// With write windows it is called for every batch of a window once the window's writes are done.
/// </summary>
public interface IIndexingJobObserver
{
    ValueTask BatchWrittenAsync(string jobId, int batchNumber, CancellationToken cancellationToken);
}

internal sealed class NoIndexingJobObserver : IIndexingJobObserver
{
    public ValueTask BatchWrittenAsync(string jobId, int batchNumber, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
