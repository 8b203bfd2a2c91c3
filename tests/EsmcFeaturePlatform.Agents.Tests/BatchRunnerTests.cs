using System.Collections.Concurrent;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Batch;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;

namespace EsmcFeaturePlatform.Agents.Tests;

public sealed class BatchRunnerTests : IAsyncLifetime
{
    private readonly SyntheticFeature _feature = SyntheticFeature.Inside("TRANSMEM");
    private ScriptedOpenAiServer _server = null!;
    private ScriptedModel _model = null!;
    private int _inFlight;
    private int _maxInFlight;

    public Task InitializeAsync()
    {
        _model = new ScriptedModel(_feature);
        _server = new ScriptedOpenAiServer(r =>
        {
            // Features numbered 13 make the model fail for good; the rest succeed after a short, overlapping delay.
            if (r.AllText.Contains("Feature 13 of SAE", StringComparison.Ordinal)) return ScriptedResponse.Error(500, "feature 13 breaks the model");
            return _model.Handle(r).After(TimeSpan.FromMilliseconds(30));
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Runs_bounded_resumable_accounts_tokens_and_never_stores_failures()
    {
        var options = new AgentOptions
        {
            Endpoint = _server.Endpoint, Model = "scripted-model", MaxConcurrency = 3, MaxRetries = 0, Score = false,
            PromptTokenPricePerMillion = 2.5m, CompletionTokenPricePerMillion = 10m,
        };
        using var describer = SemanticKernelFeatureDescriber.Create(options);
        var counting = new ConcurrencyProbe(describer, this);
        var runner = new DescriptionBatchRunner(counting, options);
        var features = Enumerable.Range(10, 8).Select(i => new FeatureKey("test/layer1", i)).ToList();
        var alreadyDescribed = new HashSet<int> { 11, 12 };
        var stored = new ConcurrentDictionary<FeatureKey, DescriptionResult>();
        var progress = new ConcurrentQueue<BatchProgress>();

        var summary = await runner.RunAsync(new DescriptionBatchRequest(
            features,
            (key, _) => Task.FromResult<FeatureEvidence?>(key.Index == 16 ? null : _feature.Evidence() with { Feature = key }),
            (key, _) => Task.FromResult(alreadyDescribed.Contains(key.Index)),
            (key, result, _) => { stored[key] = result; return Task.CompletedTask; })
        { Progress = progress.Enqueue });

        Assert.Equal(8, summary.Total);
        Assert.Equal(2, summary.Skipped);
        Assert.Equal(2, summary.Failed);
        Assert.Equal(4, summary.Described);
        Assert.Equal([10, 14, 15, 17], stored.Keys.Select(k => k.Index).Order());
        Assert.All(stored.Values, r => Assert.NotNull(r.Output));
        Assert.Contains(summary.Failures, f => f.Feature.Index == 13 && f.Reason.Contains("500", StringComparison.Ordinal));
        Assert.Contains(summary.Failures, f => f.Feature.Index == 16 && f.Reason.Contains("no evidence", StringComparison.Ordinal));
        // Skipped features cost no model call.
        Assert.DoesNotContain(_server.ChatRequests, r => r.AllText.Contains("Feature 11 of SAE", StringComparison.Ordinal));

        Assert.InRange(_maxInFlight, 1, 3);
        Assert.Equal(Enumerable.Range(1, 8), progress.Select(p => p.Processed));
        Assert.Equal(_model.PromptTokensSent, summary.PromptTokens);
        Assert.Equal(_model.CompletionTokensSent, summary.CompletionTokens);
        Assert.Equal((summary.PromptTokens * 2.5m + summary.CompletionTokens * 10m) / 1_000_000m, summary.Cost);
        Assert.Equal(summary.Cost, progress.Last().Cost);

        // Resuming: everything stored or skipped before is skipped now; only the failures are tried again.
        var retried = new ConcurrentBag<int>();
        var second = await runner.RunAsync(new DescriptionBatchRequest(
            features,
            (key, _) => { retried.Add(key.Index); return Task.FromResult<FeatureEvidence?>(null); },
            (key, _) => Task.FromResult(alreadyDescribed.Contains(key.Index) || stored.ContainsKey(key)),
            (_, _, _) => Task.CompletedTask));
        Assert.Equal(6, second.Skipped);
        Assert.Equal([13, 16], retried.Order());
    }

    [Fact]
    public async Task A_store_that_throws_fails_that_feature_only()
    {
        var runner = new DescriptionBatchRunner(new EvidenceOnlyDescriber(), new AgentOptions { MaxConcurrency = 2 });
        var features = Enumerable.Range(0, 4).Select(i => new FeatureKey("test/layer1", i)).ToList();
        var summary = await runner.RunAsync(new DescriptionBatchRequest(
            features,
            (key, _) => Task.FromResult<FeatureEvidence?>(_feature.Evidence() with { Feature = key }),
            (_, _) => Task.FromResult(false),
            (key, _, _) => key.Index == 2 ? throw new IOException("disk full") : Task.CompletedTask));
        Assert.Equal(3, summary.Described);
        Assert.Equal("disk full", Assert.Single(summary.Failures).Reason);
    }

    /// <summary>Counts describe calls in flight around the real describer.</summary>
    private sealed class ConcurrencyProbe(IFeatureDescriber inner, BatchRunnerTests owner) : IFeatureDescriber
    {
        public bool UsesLanguageModel => inner.UsesLanguageModel;

        public async Task<DescriptionResult> DescribeAsync(FeatureEvidence evidence, CancellationToken ct = default)
        {
            var now = Interlocked.Increment(ref owner._inFlight);
            int seen;
            while ((seen = Volatile.Read(ref owner._maxInFlight)) < now && Interlocked.CompareExchange(ref owner._maxInFlight, now, seen) != seen) { }
            try { return await inner.DescribeAsync(evidence, ct); }
            finally { Interlocked.Decrement(ref owner._inFlight); }
        }
    }
}
