using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using Xunit;
using static EsmcFeaturePlatform.Inference.Tests.Inference.InferenceFixtures;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>The worker thread, queue, batching and IFeatureEncoder contract, over the golden model.</summary>
public sealed class FeatureEncoderTests
{
    private static readonly GoldenSae StatesSae = Saes.First(s => !s.PlaceholderStats);

    private static TorchFeatureEncoder Open(InferenceOptions? options = null, GoldenSae? sae = null)
    {
        sae ??= StatesSae;
        return TorchFeatureEncoder.OpenSingle(PrimaryModelDirectory, sae.RepoPath, sae.Layer, options ?? new InferenceOptions { Device = "cpu" });
    }

    private static List<string> GoldenSequenceTexts() => Sequences.Select(s => s.GetProperty("sequence").GetString()!).ToList();

    [Fact]
    public async Task EncodeAsync_returns_golden_residue_rows_and_pooled_features_in_input_order()
    {
        using var encoder = Open();
        var descriptor = Assert.Single(encoder.Saes);
        Assert.Equal(StatesSae.Id, descriptor.Id);
        Assert.Empty(encoder.LoadProblems);

        var results = await encoder.EncodeAsync(StatesSae.Id, GoldenSequenceTexts());
        var i = 0;
        foreach (var golden in Sequences)
        {
            var result = results[i++];
            var goldenSae = golden.GetProperty("sae").GetProperty(StatesSae.Name);
            var positions = goldenSae.GetProperty("positions").EnumerateArray().ToList();
            Assert.Equal(StatesSae.Id, result.SaeId);
            Assert.Equal(positions.Count - 2, result.Length);
            Assert.Equal(result.Length, result.Residues.Length);
            for (var r = 0; r < result.Length; r++)
                SameFeatures(Pairs(positions[r + 1].GetProperty("topk")), result.Residues[r].AsPairs(), $"{golden.GetProperty("name")} residue {r + 1}");
            SameFeatures(Pairs(goldenSae.GetProperty("max_pooled_raw")), result.Pooled.AsPairs(), $"{golden.GetProperty("name")} pooled");
            Assert.Equal(golden.GetProperty("input_ids").EnumerateArray().Count(e => e.GetInt32() == EsmcTokenizer.UnkId), result.UnknownTokens);
        }
        var metrics = encoder.Metrics.Snapshot();
        Assert.Equal(Sequences.Count, metrics.Sequences);
        Assert.Equal(Sequences.Sum(s => s.GetProperty("num_tokens").GetInt32()), metrics.RealTokens);
        Assert.True(metrics.PaddedTokens >= metrics.RealTokens);
        Assert.True(metrics.Batches >= 1);
    }

    [Fact]
    public async Task Small_token_budget_splits_into_length_sorted_batches_with_identical_results()
    {
        var texts = GoldenSequenceTexts();
        var longest = texts.Max(t => EsmcTokenizer.Tokenize(t).TokenCount);
        using var reference = Open();
        var expected = await reference.EncodeAsync(StatesSae.Id, texts);

        using var encoder = Open(new InferenceOptions { Device = "cpu", MaxTokens = longest, MaxBatchTokens = longest, BatchWindowMilliseconds = 0 });
        var worker = encoder.WorkerFor(StatesSae.Id);
        worker.Gate.Reset();
        var pending = encoder.EncodeAsync(StatesSae.Id, texts);
        worker.Gate.Set();
        var actual = await pending;

        for (var s = 0; s < texts.Count; s++)
            for (var r = 0; r < expected[s].Length; r++)
                Assert.Equal(expected[s].Residues[r].Select(f => f.Index), actual[s].Residues[r].Select(f => f.Index));
        var metrics = encoder.Metrics.Snapshot();
        Assert.True(metrics.Batches > 1, "a budget of one longest sequence must need several batches");
        Assert.True(metrics.PaddedTokens <= metrics.Batches * longest, "no batch may exceed the padded-token budget");
        // Sorting by length makes this stream pad less than the one unsorted batch the reference ran.
        Assert.True(metrics.PaddingWaste < reference.Metrics.PaddingWaste);
    }

    [Fact]
    public async Task Full_queue_throws_OverloadedException_and_admits_nothing()
    {
        using var encoder = Open(new InferenceOptions { Device = "cpu", QueueCapacity = 2 });
        var texts = GoldenSequenceTexts();
        var tooMany = await Assert.ThrowsAsync<OverloadedException>(() => encoder.EncodeAsync(StatesSae.Id, texts.Take(3).ToList()));
        Assert.Contains("full", tooMany.Message);

        var worker = encoder.WorkerFor(StatesSae.Id);
        worker.Gate.Reset();
        var first = encoder.EncodeAsync(StatesSae.Id, texts.Take(2).ToList());
        await Assert.ThrowsAsync<OverloadedException>(() => encoder.EncodeAsync(StatesSae.Id, texts.Skip(2).Take(1).ToList()));
        worker.Gate.Set();
        Assert.Equal(2, (await first).Count);
        // Once drained, the queue admits work again.
        Assert.Single(await encoder.EncodeAsync(StatesSae.Id, texts.Skip(2).Take(1).ToList()));
        Assert.Equal(3, encoder.Metrics.Sequences);
    }

    [Fact]
    public async Task Cancelled_requests_are_not_computed_and_the_worker_keeps_serving()
    {
        using var encoder = Open();
        var texts = GoldenSequenceTexts();
        using var preCancelled = new CancellationTokenSource();
        await preCancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => encoder.EncodeAsync(StatesSae.Id, texts, preCancelled.Token));

        var worker = encoder.WorkerFor(StatesSae.Id);
        worker.Gate.Reset();
        using var cancellation = new CancellationTokenSource();
        var doomed = encoder.EncodeAsync(StatesSae.Id, texts, cancellation.Token);
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => doomed);
        var survivor = encoder.EncodeAsync(StatesSae.Id, texts.Take(1).ToList());
        worker.Gate.Set();
        Assert.Single(await survivor);
        Assert.Equal(1, encoder.Metrics.Sequences);
    }

    [Fact]
    public async Task Bad_sequences_and_unknown_saes_are_refused_before_any_work()
    {
        using var encoder = Open(new InferenceOptions { Device = "cpu", MaxTokens = 12 });
        var empty = await Assert.ThrowsAsync<InvalidSequenceException>(() => encoder.EncodeAsync(StatesSae.Id, ["MKV", ""]));
        Assert.Contains("#2", empty.Message);
        var masked = await Assert.ThrowsAsync<InvalidSequenceException>(() => encoder.EncodeAsync(StatesSae.Id, ["MK<mask>V"]));
        Assert.Contains("<mask>", masked.Message);
        var tooLong = await Assert.ThrowsAsync<InvalidSequenceException>(() => encoder.EncodeAsync(StatesSae.Id, ["MKV", "MKV", new string('A', 11)]));
        Assert.Contains("#3", tooLong.Message);
        await Assert.ThrowsAsync<UnknownSaeException>(() => encoder.EncodeAsync("no-such-sae/layer1", ["MKV"]));
        Assert.Equal(0, encoder.Metrics.Sequences);
        Assert.Empty(await encoder.EncodeAsync(StatesSae.Id, []));
    }

    [Fact]
    public async Task Placeholder_statistics_refuse_normalization_while_imported_ones_are_used()
    {
        var placeholder = Saes.First(s => s.PlaceholderStats);
        using var encoder = Open(sae: placeholder);
        var descriptor = Assert.Single(encoder.Saes);
        Assert.False(descriptor.HasCheckpointStatistics);
        Assert.Null(encoder.GetCheckpointStatistics(placeholder.Id));
        var refused = Assert.Throws<NormalizationUnavailableException>(() => SaeNormalization.Require(encoder, placeholder.Id));
        Assert.Contains(placeholder.Id, refused.Message);

        var c = descriptor.CodebookSize;
        Assert.Throws<ArgumentException>(() => SaeNormalization.Require(encoder, placeholder.Id, new NormalizationStats(Enumerable.Repeat(1f, c).ToArray(), Enumerable.Repeat(1f, c).ToArray())));
        Assert.Throws<ArgumentException>(() => SaeNormalization.Require(encoder, placeholder.Id, new NormalizationStats(new float[c - 1], new float[c - 1])));
        var imported = new NormalizationStats(Enumerable.Range(0, c).Select(j => 1f + j).ToArray(), Enumerable.Range(0, c).Select(j => 0.5f + j % 3).ToArray());
        var stats = SaeNormalization.Require(encoder, placeholder.Id, imported);
        var result = (await encoder.EncodeAsync(placeholder.Id, ["MKTAYIAK"]))[0];
        var row = result.Residues[0];
        var normalized = FeatureMath.Normalize(row, stats);
        foreach (var f in normalized)
            Assert.Equal(row.Single(r => r.Index == f.Index).Value / imported.Max[f.Index] * imported.Idf[f.Index], f.Value, 5);

        using var real = Open();
        Assert.True(real.Saes[0].HasCheckpointStatistics);
        Assert.NotNull(SaeNormalization.Require(real, StatesSae.Id));
    }

    [Fact]
    public async Task Idle_models_unload_and_reload_on_next_use_with_the_same_results()
    {
        using var encoder = Open(new InferenceOptions { Device = "cpu", IdleUnloadAfter = TimeSpan.FromTicks(1) });
        var worker = encoder.WorkerFor(StatesSae.Id);
        Assert.False(worker.IsLoaded);
        var before = await encoder.EncodeAsync(StatesSae.Id, ["MKTAYIAKQR"]);
        Assert.True(worker.IsLoaded);
        await Task.Delay(5);
        Assert.Equal(1, encoder.UnloadIdleModels());
        Assert.False(worker.IsLoaded);
        var after = await encoder.EncodeAsync(StatesSae.Id, ["MKTAYIAKQR"]);
        Assert.True(worker.IsLoaded);
        Assert.Equal(before[0].Pooled, after[0].Pooled);

        using var never = Open();
        await never.EncodeAsync(StatesSae.Id, ["MKV"]);
        Assert.Equal(0, never.UnloadIdleModels());
    }

    [Fact]
    public void Options_are_validated_with_the_setting_named()
    {
        Assert.Contains("MaxBatchTokens", Assert.Throws<ArgumentException>(() => Open(new InferenceOptions { MaxTokens = 100, MaxBatchTokens = 50 })).Message);
        Assert.Contains("QueueCapacity", Assert.Throws<ArgumentException>(() => Open(new InferenceOptions { QueueCapacity = 0 })).Message);
        Assert.Contains("tpu", Assert.Throws<ArgumentException>(() => Open(new InferenceOptions { Device = "tpu" })).Message);
        Assert.Equal((false, (int?)null), DeviceSelector.Parse("cpu"));
        Assert.Equal((true, (int?)1), DeviceSelector.Parse("CUDA:1"));
        Assert.Equal(((bool?)null, (int?)null), DeviceSelector.Parse("auto"));
    }

    [Fact]
    public async Task A_failed_batch_marks_its_span_as_an_error()
    {
        var failed = new List<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == EsmcFeaturePlatform.Abstractions.Telemetry.PlatformTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (failed) if (a.Status == System.Diagnostics.ActivityStatusCode.Error) failed.Add(a); },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        using var encoder = Open();
        // The worker takes the SAE id as given; one it does not hold fails inside the batch (the encoder's own API refuses it earlier).
        var worker = encoder.WorkerFor(StatesSae.Id);
        var tokens = EsmcTokenizer.TokenizeForSae("MKTAYIAKQR", 2048, "#1");

        await Assert.ThrowsAsync<UnknownSaeException>(() => worker.SubmitAsync("no-such-sae/layer1", [tokens], CancellationToken.None));

        // Other tests in this assembly may run batches meanwhile (the listener is process-wide): look for this one. The
        // span stops on the worker thread just after the request fails, so the caller may get here first: wait for it.
        List<System.Diagnostics.Activity> ours;
        var deadline = DateTime.UtcNow.AddSeconds(30);   // guards against a hang; not a performance threshold
        do
        {
            lock (failed) ours = [.. failed.Where(a => a.OperationName == EsmcFeaturePlatform.Abstractions.Telemetry.PlatformTelemetry.InferenceBatchActivity
                && a.StatusDescription == nameof(UnknownSaeException))];
            if (ours.Count == 0) await Task.Delay(20);
        } while (ours.Count == 0 && DateTime.UtcNow < deadline);
        var span = Assert.Single(ours);
        Assert.Contains(span.Events, e => e.Name == "exception");
    }
}
