using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Abstractions.Telemetry;

/// <summary>
/// The platform's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, and every instrument recorded on them.
/// Here, in Abstractions, because inference, grains, safety and the host all record (System.Diagnostics needs no
/// package); the host decides whether anything listens (Server/Hosting/ServiceDefaults.cs). Static on purpose: an
/// instrument nobody listens to costs a branch, and several hosts in one process (the tests) share the meter.
/// </summary>
/// <remarks>
/// Names follow OpenTelemetry's conventions (dotted, unit in the metadata); the inference ones map one-to-one onto
/// Hugging Face text-embeddings-inference's Prometheus names for the same ideas (te_queue_size,
/// te_batch_next_size, te_batch_next_tokens, te_batch_inference_duration, te_request_duration, te_request_count),
/// so dashboards carry over. The Prometheus exporter writes them with underscores and unit suffixes
/// (esmc.inference.backbone.duration becomes esmc_inference_backbone_duration_seconds).
/// </remarks>
public static class PlatformTelemetry
{
    /// <summary>The meter's and the activity source's name (what the host adds to OpenTelemetry).</summary>
    public const string Name = "EsmcFeaturePlatform";

    /// <summary>Tag naming the model an inference measurement belongs to.</summary>
    public const string ModelTag = "esmc.model";

    /// <summary>Tag naming the SAE an indexing measurement belongs to.</summary>
    public const string SaeTag = "esmc.sae";

    /// <summary>Tag for how an inference request ended: ok, invalid_sequence, unknown_sae, overloaded.</summary>
    public const string OutcomeTag = "esmc.outcome";

    // Bucket boundaries in the instruments' own units (the SDK's defaults suit milliseconds, not seconds or batch sizes).
    private static readonly InstrumentAdvice<double> Seconds = Buckets<double>([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

    private static InstrumentAdvice<T> Buckets<T>(IReadOnlyList<T> boundaries) where T : struct => new() { HistogramBucketBoundaries = boundaries };

    /// <summary>Powers of two from <paramref name="first"/> to <paramref name="last"/>, as TEI buckets batch sizes and tokens.</summary>
    private static int[] Powers(int first, int last)
    {
        var powers = new List<int>();
        for (var p = first; p <= last; p *= 2) powers.Add(p);
        return [.. powers];
    }

    /// <summary>The platform's spans (one per inference batch and per indexing window).</summary>
    public static readonly ActivitySource Source = new(Name);

    /// <summary>The platform's instruments, all created below.</summary>
    public static readonly Meter Meter = new(Name);

    // Inference (TEI's router and queue).

    // Each live model worker's own admission count, read when the meter is collected (ObserveInferenceQueue).
    private static readonly ConcurrentDictionary<object, Func<Measurement<long>>> QueueSources = new();

    /// <summary>
    /// te_queue_size: sequences admitted to a model's queue and not yet taken into a batch, read from each worker's own
    /// count (one number, no second copy that could drift from it, and nothing left over from a worker that stopped).
    /// </summary>
    public static readonly ObservableUpDownCounter<long> InferenceQueueSize = Meter.CreateObservableUpDownCounter(
        "esmc.inference.queue.size", () => QueueSources.Values.Select(measure => measure()), "{sequence}",
        "Sequences queued for a model's worker, not yet in a batch.");

    /// <summary>Reports a worker's queue size through <see cref="InferenceQueueSize"/> until the returned handle is disposed.</summary>
    public static IDisposable ObserveInferenceQueue(Func<Measurement<long>> measure)
    {
        var key = new object();
        QueueSources[key] = measure;
        return new QueueObservation(key);
    }

    private sealed class QueueObservation(object key) : IDisposable
    {
        public void Dispose() => QueueSources.TryRemove(key, out _);
    }

    /// <summary>te_batch_next_size: sequences per batch the worker ran.</summary>
    public static readonly Histogram<int> InferenceBatchSize = Meter.CreateHistogram<int>(
        "esmc.inference.batch.size", "{sequence}", "Sequences in each batch the inference worker ran.", advice: Buckets<int>(Powers(1, 4096)));

    /// <summary>te_batch_next_tokens: tokens per batch (the sequences' own, &lt;cls&gt;/&lt;eos&gt; included, no padding).</summary>
    public static readonly Histogram<int> InferenceBatchTokens = Meter.CreateHistogram<int>(
        "esmc.inference.batch.tokens", "{token}", "Tokens of the sequences in each batch, padding excluded.", advice: Buckets<int>(Powers(16, 1 << 20)));

    /// <summary>Share of a batch's computed tokens that were padding (TEI pads nothing, so it has no name for this).</summary>
    public static readonly Histogram<double> InferencePaddingWaste = Meter.CreateHistogram<double>(
        "esmc.inference.padding.waste", "1", "Share of each batch's computed tokens that were padding (0 to 1).", advice: Buckets<double>([0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75]));

    /// <summary>te_batch_inference_duration, backbone half: the transformer's forward pass per batch.</summary>
    public static readonly Histogram<double> InferenceBackboneDuration = Meter.CreateHistogram<double>(
        "esmc.inference.backbone.duration", "s", "Seconds of each batch's transformer forward pass.", advice: Seconds);

    /// <summary>te_batch_inference_duration, SAE half: encoding the hidden states into features per batch.</summary>
    public static readonly Histogram<double> InferenceSaeDuration = Meter.CreateHistogram<double>(
        "esmc.inference.sae.duration", "s", "Seconds of each batch's SAE encoding.", advice: Seconds);

    /// <summary>Residues encoded; its rate is residues per second (TEI reports throughput only in its benchmark).</summary>
    public static readonly Counter<long> InferenceResidues = Meter.CreateCounter<long>(
        "esmc.inference.residues", "{residue}", "Residues encoded (rate: residues per second).");

    /// <summary>te_request_count with te_request_success/failure as a tag: encode requests by outcome.</summary>
    public static readonly Counter<long> InferenceRequests = Meter.CreateCounter<long>(
        "esmc.inference.requests", "{request}", "Encode requests a silo's inference worker answered, by outcome.");

    /// <summary>te_request_duration: one encode request, queue wait included.</summary>
    public static readonly Histogram<double> InferenceRequestDuration = Meter.CreateHistogram<double>(
        "esmc.inference.request.duration", "s", "Seconds of each encode request, queue wait included.", advice: Seconds);

    // Indexing jobs.

    /// <summary>Proteins committed to the index by indexing jobs (new to their SAE).</summary>
    public static readonly Counter<long> IndexingProteins = Meter.CreateCounter<long>(
        "esmc.indexing.proteins", "{protein}", "Proteins committed to the index by indexing jobs (new to their SAE).");

    /// <summary>Indexing windows written and committed.</summary>
    public static readonly Counter<long> IndexingWindows = Meter.CreateCounter<long>(
        "esmc.indexing.windows", "{window}", "Indexing windows written and committed.");

    /// <summary>Feature page writes sent by indexing windows, retries included.</summary>
    public static readonly Counter<long> IndexingPageWrites = Meter.CreateCounter<long>(
        "esmc.indexing.page.writes", "{write}", "Feature page writes sent by indexing windows (retries included).");

    /// <summary>How far the durable index trails the encoder: from a window's first encoded batch to its commit.</summary>
    public static readonly Histogram<double> IndexingJobLag = Meter.CreateHistogram<double>(
        "esmc.indexing.job.lag", "s", "Seconds from a window's first encoded batch to its commit.", advice: Buckets<double>([1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]));

    // Search and screening.

    /// <summary>Seconds of each feature search against the index (Lucene or Elasticsearch).</summary>
    public static readonly Histogram<double> SearchDuration = Meter.CreateHistogram<double>(
        "esmc.search.duration", "s", "Seconds of each feature search against the index.", advice: Seconds);

    /// <summary>Screening matches by kind (sequence, keyword) and action (BLOCKED, ALLOWED_EXEMPT, FLAGGED).</summary>
    public static readonly Counter<long> ScreeningMatches = Meter.CreateCounter<long>(
        "esmc.screening.matches", "{match}", "Screening matches by kind and action.");

    /// <summary>One encode request's outcome and time (te_request_count, te_request_success/failure, te_request_duration).</summary>
    public static void RecordInferenceRequest(EncodeFailure failure, TimeSpan elapsed)
    {
        var outcome = new KeyValuePair<string, object?>(OutcomeTag, failure switch
        {
            EncodeFailure.None => "ok",
            EncodeFailure.InvalidSequence => "invalid_sequence",
            EncodeFailure.UnknownSae => "unknown_sae",
            EncodeFailure.Overloaded => "overloaded",
            _ => failure.ToString(),
        });
        InferenceRequests.Add(1, outcome);
        InferenceRequestDuration.Record(elapsed.TotalSeconds, outcome);
    }

    /// <summary>A committed indexing window: its new proteins, and its lag (first encoded batch to commit).</summary>
    public static void RecordIndexingWindow(string saeId, int newProteins, TimeSpan sinceFirstBatch)
    {
        var sae = new KeyValuePair<string, object?>(SaeTag, saeId);
        IndexingWindows.Add(1, sae);
        IndexingProteins.Add(newProteins, sae);
        IndexingJobLag.Record(sinceFirstBatch.TotalSeconds, sae);
    }

    /// <summary>Activity names: one span per inference batch and per indexing window.</summary>
    public const string InferenceBatchActivity = "esmc.inference.batch";

    /// <summary>The span of one indexing window.</summary>
    public const string IndexingWindowActivity = "esmc.indexing.window";

    /// <summary>
    /// The context to link later work to: the caller's current span, captured when the work is queued (the batch or
    /// window runs on another thread, or long after the request that caused it ended, so it cannot be a child).
    /// </summary>
    public static ActivityContext CallerContext() => Activity.Current?.Context ?? default;

    /// <summary>Marks <paramref name="span"/> (null when nobody listens) as failed with <paramref name="failure"/>, so a trace shows which batch or window broke.</summary>
    public static void MarkFailed(Activity? span, Exception failure)
    {
        span?.SetStatus(ActivityStatusCode.Error, failure.GetType().Name).AddException(failure);
    }

    /// <summary>A span per unit of work, linked to the distinct callers that caused it (none: no links).</summary>
    public static Activity? StartLinked(string name, IEnumerable<ActivityContext> callers)
    {
        if (!Source.HasListeners()) return null;
        var links = callers.Where(c => c != default).Distinct().Select(c => new ActivityLink(c)).ToList();
        // A root span: the worker thread or job loop has no parent of its own, and the links say who asked.
        var previous = Activity.Current;
        Activity.Current = null;
        try { return Source.StartActivity(name, ActivityKind.Internal, parentContext: default, links: links); }
        finally { Activity.Current = previous; }
    }
}
