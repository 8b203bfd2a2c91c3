using System.Diagnostics;
using System.Globalization;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Batch;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Agents.Evidence;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;
using Xunit.Abstractions;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Agents.Tests;

[Trait("Category", "Benchmark")]
public sealed class AgentBenchmarks(ITestOutputHelper output)
{
    private static string F(double d) => d.ToString("0.0", CultureInfo.InvariantCulture);

    [BenchmarkFact]
    public async Task Features_described_per_minute_against_a_200ms_model()
    {
        var feature = SyntheticFeature.Inside("TRANSMEM");
        var model = new ScriptedModel(feature);
        await using var server = new ScriptedOpenAiServer(r => model.Handle(r).After(TimeSpan.FromMilliseconds(200)));
        foreach (var concurrency in new[] { 1, 8 })
        {
            var options = new AgentOptions { Endpoint = server.Endpoint, Model = "scripted-model", MaxConcurrency = concurrency, HeldOutPerClass = 5 };
            using var describer = SemanticKernelFeatureDescriber.Create(options);
            var runner = new DescriptionBatchRunner(describer, options);
            var count = concurrency * 10;
            // Warm-up (JIT, first connection) is not the steady state a batch run lives in.
            await runner.RunAsync(new DescriptionBatchRequest([new FeatureKey("bench/warmup", concurrency)],
                (key, _) => Task.FromResult<FeatureEvidence?>(feature.Evidence() with { Feature = key }), (_, _) => Task.FromResult(false), (_, _, _) => Task.CompletedTask));
            var before = server.ChatRequests.Count;
            var summary = await runner.RunAsync(new DescriptionBatchRequest(
                [.. Enumerable.Range(0, count).Select(i => new FeatureKey("bench/layer1", i))],
                (key, _) => Task.FromResult<FeatureEvidence?>(feature.Evidence() with { Feature = key }),
                (_, _) => Task.FromResult(false),
                (_, _, _) => Task.CompletedTask));
            Assert.Equal(count, summary.Described);
            var calls = server.ChatRequests.Count - before;
            var perMinute = summary.Described / summary.Elapsed.TotalMinutes;
            // What a zero-overhead client would reach: each feature's calls are sequential, 200 ms each.
            var ideal = 60.0 * concurrency / (calls / (double)count * 0.2);
            output.WriteLine($"concurrency {concurrency}: {summary.Described} features in {F(summary.Elapsed.TotalSeconds)} s = {F(perMinute)} features/min " +
                $"({F(calls / (double)count)} model calls per feature incl. scoring; latency-bound ideal {F(ideal)}/min, overhead {F((1 - perMinute / ideal) * 100)}%)");
        }
    }

    [BenchmarkFact]
    public void Evidence_assembly_time_per_feature()
    {
        var feature = SyntheticFeature.Inside("TRANSMEM");
        // A delphi-sized evidence set: 10 top + 40 quantile activating proteins, 50 non-activating, real lengths.
        var activating = Enumerable.Range(0, 50).Select(i => feature.Activating[i % feature.Activating.Count]).Select((e, i) =>
            e with { Example = e.Example with { SequenceId = e.Example.SequenceId + "_" + i } }).ToList();
        var evidence = new FeatureEvidence(feature.Key, null, [.. activating.Take(10)], [.. activating.Skip(10)],
            [.. SwissProt.All.Where(p => !feature.IsActivating(p.Id)).Take(50).Select(SwissProt.NonActivating)], []);
        var residues = evidence.TopExamples.Concat(evidence.QuantileExamples).Concat(evidence.NonActivatingExamples).Sum(e => e.Example.Sequence.Length);

        void Once()
        {
            var split = HeldOutSplitter.Split(evidence, 10);
            var analysis = EvidenceAnalysis.Build(split.Shown);
            var plugin = new FeatureEvidencePlugin(analysis);
            _ = Prompts.ExplainerUser(analysis).Length + plugin.GetTopExamples(40).Length + plugin.GetQuantileExamples().Length
                + plugin.GetNonActivatingExamples(40).Length + plugin.GetAnnotationEnrichment().Length + plugin.GetResidueStatistics().Length
                + plugin.GetActivationPattern().Length + plugin.GetNearestFeatures().Length;
            _ = EvidenceOnlyDescriber.Describe(analysis);
        }

        for (var i = 0; i < 20; i++) Once();
        const int n = 300;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) Once();
        sw.Stop();
        var ms = sw.Elapsed.TotalMilliseconds / n;
        output.WriteLine($"evidence assembly: {ms.ToString("0.00", CultureInfo.InvariantCulture)} ms per feature ({residues} residues in 100 proteins; split, enrichment, statistics, pattern, all prompt/tool texts, evidence-only description); " +
            $"131,072 features: {F(ms * 131072 / 1000 / 60)} min on one core");
    }
}
