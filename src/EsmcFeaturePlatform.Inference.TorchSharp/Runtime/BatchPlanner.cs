namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>
/// How the worker cuts queued sequences into forward passes. Public so that the benchmark hands its PyTorch
/// peer exactly the batches this engine runs (same padding on both sides of the comparison).
/// </summary>
public static class BatchPlanner
{
    /// <summary>
    /// Indices into <paramref name="tokenCounts"/> grouped into batches, shortest first. A stable sort by length
    /// keeps arrival order among equals; a batch is cut on the padded-token budget, and also when a sequence is
    /// more than <paramref name="maxLengthSpread"/> times the batch's shortest: a batch is padded to its longest
    /// member, so a bounded spread bounds the padding waste (1.1 keeps it under ~9% per batch). On CPU small
    /// batches cost little; tokens are the GEMM rows.
    /// </summary>
    public static List<List<int>> Plan(IReadOnlyList<int> tokenCounts, int maxBatchTokens, double maxLengthSpread)
    {
        var batches = new List<List<int>>();
        var batch = new List<int>();
        foreach (var i in Enumerable.Range(0, tokenCounts.Count).OrderBy(i => tokenCounts[i]))
        {
            var tokens = tokenCounts[i];
            if (batch.Count > 0 && ((long)(batch.Count + 1) * tokens > maxBatchTokens || tokens > tokenCounts[batch[0]] * maxLengthSpread))
            {
                batches.Add(batch);
                batch = [];
            }
            batch.Add(i);
        }
        if (batch.Count > 0) batches.Add(batch);
        return batches;
    }
}
