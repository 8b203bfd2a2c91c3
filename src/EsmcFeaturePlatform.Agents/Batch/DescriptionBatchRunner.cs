using EsmcFeaturePlatform.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EsmcFeaturePlatform.Agents.Batch;

/// <summary>
/// What a batch run needs from its host (the describeFeatures job grain): where evidence comes from,
/// how to tell a feature already has a description (so a re-run resumes), and where successes go.
/// Failures are reported, never stored.
/// </summary>
public sealed record DescriptionBatchRequest(
    IReadOnlyList<FeatureKey> Features,
    Func<FeatureKey, CancellationToken, Task<FeatureEvidence?>> LoadEvidenceAsync,
    Func<FeatureKey, CancellationToken, Task<bool>> IsDescribedAsync,
    Func<FeatureKey, DescriptionResult, CancellationToken, Task> StoreAsync)
{
    public Action<BatchProgress>? Progress { get; init; }
    /// <summary>Overrides <see cref="AgentOptions.MaxConcurrency"/> for this run.</summary>
    public int? MaxConcurrency { get; init; }
}

public sealed record BatchProgress(int Total, int Processed, int Described, int Skipped, int Failed, long PromptTokens, long CompletionTokens, decimal Cost);

public sealed record BatchFailure(FeatureKey Feature, string Reason);

public sealed record BatchSummary(int Total, int Described, int Skipped, int Failed, long PromptTokens, long CompletionTokens, decimal Cost,
    IReadOnlyList<BatchFailure> Failures, TimeSpan Elapsed);

/// <summary>Describes many features with bounded concurrency; one feature's failure never stops the run.</summary>
public sealed class DescriptionBatchRunner(IFeatureDescriber describer, AgentOptions options, ILogger<DescriptionBatchRunner>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    public async Task<BatchSummary> RunAsync(DescriptionBatchRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var features = request.Features.Distinct().ToList();
        var gate = new object();
        int processed = 0, described = 0, skipped = 0, failed = 0;
        long promptTokens = 0, completionTokens = 0;
        var failures = new List<BatchFailure>();

        void Done(Action update)
        {
            // Progress is reported under the lock so callers see monotonic counts.
            lock (gate)
            {
                update();
                processed++;
                request.Progress?.Invoke(new BatchProgress(features.Count, processed, described, skipped, failed,
                    promptTokens, completionTokens, options.CostOf(promptTokens, completionTokens)));
            }
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, request.MaxConcurrency ?? options.MaxConcurrency), CancellationToken = ct };
        await Parallel.ForEachAsync(features, parallel, async (feature, token) =>
        {
            try
            {
                if (await request.IsDescribedAsync(feature, token)) { Done(() => skipped++); return; }
                var evidence = await request.LoadEvidenceAsync(feature, token);
                if (evidence is null) { Done(() => { failed++; failures.Add(new BatchFailure(feature, "no evidence available for this feature")); }); return; }
                var result = await describer.DescribeAsync(evidence, token);
                if (result.Output is null)
                {
                    Done(() =>
                    {
                        failed++;
                        promptTokens += result.PromptTokens;
                        completionTokens += result.CompletionTokens;
                        failures.Add(new BatchFailure(feature, result.Failure ?? "describer returned no output"));
                    });
                    return;
                }
                await request.StoreAsync(feature, result, token);
                Done(() => { described++; promptTokens += result.PromptTokens; completionTokens += result.CompletionTokens; });
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Describing {Feature} failed", feature);
                Done(() => { failed++; failures.Add(new BatchFailure(feature, ex.Message)); });
            }
        });
        return new BatchSummary(features.Count, described, skipped, failed, promptTokens, completionTokens,
            options.CostOf(promptTokens, completionTokens), failures, started.Elapsed);
    }
}
