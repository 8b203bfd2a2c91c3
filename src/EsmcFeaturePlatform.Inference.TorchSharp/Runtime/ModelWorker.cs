using System.Diagnostics.Metrics;
using System.Threading.Channels;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using TorchSharp;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>
/// The one thread that runs a model (TorchSharp dispose scopes are thread-static, and one compute
/// stream per model keeps the cores busy without oversubscription). Requests are split into
/// per-sequence items on a channel; the thread drains what is queued (waiting a short window for
/// more), sorts by length and cuts batches by a padded-token budget so padding stays small. Weights
/// load lazily on first use and can be unloaded when idle.
/// </summary>
internal sealed class ModelWorker : IDisposable
{
    private readonly EsmcCheckpoint _model;
    private readonly IReadOnlyList<SaeCheckpoint> _saes;
    private readonly InferenceOptions _options;
    private readonly InferenceMetrics _metrics;
    private readonly Channel<WorkItem> _channel;
    private readonly KeyValuePair<string, object?> _modelTag;
    private readonly Thread _thread;
    private int _queuedSequences;
    private readonly IDisposable _queueObservation;
    private long _lastUsedTicks;
    private EsmcInferenceEngine? _engine;
    private volatile bool _disposed;

    public ModelWorker(EsmcCheckpoint model, IReadOnlyList<SaeCheckpoint> saes, InferenceOptions options, InferenceMetrics metrics)
    {
        _model = model;
        _saes = saes;
        _options = options;
        _metrics = metrics;
        _modelTag = new(PlatformTelemetry.ModelTag, model.Name);
        // Unbounded channel + an admission counter instead of a bounded channel: a request of n sequences
        // is admitted or refused as a whole, never half-queued.
        _channel = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
        _lastUsedTicks = Environment.TickCount64;
        _queueObservation = PlatformTelemetry.ObserveInferenceQueue(() => new Measurement<long>(Volatile.Read(ref _queuedSequences), _modelTag));
        _thread = new Thread(RunLoop) { IsBackground = true, Name = $"esmc-inference:{model.Name}" };
        _thread.Start();
    }

    public string ModelName => _model.Name;

    public bool IsLoaded => Volatile.Read(ref _engine) is not null;

    /// <summary>Closed by tests to hold the worker before it takes the next round of work; open otherwise.</summary>
    internal ManualResetEventSlim Gate { get; } = new(initialState: true);

    public Task<SaeSequenceOutput[]> SubmitAsync(string saeId, IReadOnlyList<TokenizedSequence> sequences, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (sequences.Count == 0) return Task.FromResult(Array.Empty<SaeSequenceOutput>());
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Add(ref _queuedSequences, sequences.Count) > _options.QueueCapacity)
        {
            var queued = Interlocked.Add(ref _queuedSequences, -sequences.Count);
            throw new OverloadedException(
                $"The inference queue of model {ModelName} is full ({queued} of {_options.QueueCapacity} sequences queued, {sequences.Count} more requested); retry later.");
        }
        var request = new PendingRequest(sequences.Count, cancellationToken);
        for (var i = 0; i < sequences.Count; i++)
            _channel.Writer.TryWrite(new SequenceItem(request, i, sequences[i], saeId));
        return request.Task;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the worker thread against the loaded engine (loading it first if needed), between
    /// batches. For short weight queries (decoder neighbours); they do not count against the sequence queue.
    /// </summary>
    public Task<T> RunOnEngineAsync<T>(Func<EsmcInferenceEngine, T> action, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var item = new EngineItem(e => action(e)!);
        if (!_channel.Writer.TryWrite(item)) throw new ObjectDisposedException(nameof(TorchFeatureEncoder));
        return Typed(item.Completion.Task.WaitAsync(cancellationToken));

        static async Task<T> Typed(Task<object> task) => (T)await task.ConfigureAwait(false);
    }

    /// <summary>Frees the weights if unused for <paramref name="idleFor"/>; returns whether it did.</summary>
    public bool UnloadIfIdle(TimeSpan idleFor)
    {
        if (_disposed || !IsLoaded) return false;
        var control = new ControlItem(w =>
        {
            if (w._engine is null || Volatile.Read(ref w._queuedSequences) > 0) return false;
            if (Environment.TickCount64 - Interlocked.Read(ref w._lastUsedTicks) < idleFor.TotalMilliseconds) return false;
            w._engine.Dispose();
            Volatile.Write(ref w._engine, null);
            return true;
        });
        if (!_channel.Writer.TryWrite(control)) return false;
        return control.Completion.Task.GetAwaiter().GetResult();
    }

    private void RunLoop()
    {
        if (_options.IntraOpThreads is int threads) torch.set_num_threads(threads);
        if (_options.KeepFreedNativeMemory) NativeAllocator.KeepFreedMemory();
        var reader = _channel.Reader;
        var items = new List<SequenceItem>();
        while (WaitToRead(reader, Timeout.Infinite))
        {
            Gate.Wait();
            var tokens = Drain(reader, items);
            if (_options.BatchWindowMilliseconds > 0 && items.Count > 0)
            {
                var deadline = Environment.TickCount64 + _options.BatchWindowMilliseconds;
                while (tokens < _options.MaxBatchTokens)
                {
                    var remaining = deadline - Environment.TickCount64;
                    if (remaining <= 0 || !WaitToRead(reader, (int)remaining)) break;
                    tokens += Drain(reader, items);
                }
            }
            if (items.Count > 0) Process(items);
            items.Clear();
        }
        _engine?.Dispose();
        _engine = null;
    }

    private static bool WaitToRead(ChannelReader<WorkItem> reader, int timeoutMilliseconds)
    {
        var wait = reader.WaitToReadAsync().AsTask();
        return wait.Wait(timeoutMilliseconds) && wait.Result;
    }

    private int Drain(ChannelReader<WorkItem> reader, List<SequenceItem> items)
    {
        var tokens = 0;
        while (reader.TryRead(out var item))
        {
            switch (item)
            {
                case SequenceItem s:
                    Interlocked.Decrement(ref _queuedSequences);
                    items.Add(s);
                    tokens += s.Tokens.TokenCount;
                    break;
                case ControlItem c:
                    try { c.Completion.TrySetResult(c.Action(this)); }
                    catch (Exception e) { c.Completion.TrySetException(e); }
                    break;
                case EngineItem e:
                    try
                    {
                        EnsureLoaded();
                        e.Completion.TrySetResult(e.Action(_engine!));
                        Interlocked.Exchange(ref _lastUsedTicks, Environment.TickCount64);
                    }
                    catch (Exception ex) { e.Completion.TrySetException(ex); }
                    break;
            }
        }
        return tokens;
    }

    private void Process(List<SequenceItem> items)
    {
        items.RemoveAll(i => i.Request.IsCompleted);
        if (items.Count == 0) return;
        try
        {
            EnsureLoaded();
        }
        catch (InvalidOperationException failure)
        {
            foreach (var item in items) item.Request.Fail(failure);
            return;
        }
        foreach (var batch in BatchPlanner.Plan(items.Select(i => i.Tokens.TokenCount).ToList(), _options.MaxBatchTokens, _options.MaxLengthSpread))
            RunBatch(batch.Select(i => items[i]).ToList());
        Interlocked.Exchange(ref _lastUsedTicks, Environment.TickCount64);
    }

    private void EnsureLoaded()
    {
        if (_engine is not null) return;
        try
        {
            Volatile.Write(ref _engine, EsmcInferenceEngine.Load(_model, _saes, _options.Device, fullModel: false,
                DeviceSelector.ParsePrecision(_options.BackbonePrecision), _options.PackCpuWeights));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"Model {ModelName} could not be loaded: {e.Message}", e);
        }
    }

    private void RunBatch(List<SequenceItem> batch)
    {
        batch.RemoveAll(i => i.Request.IsCompleted);
        if (batch.Count == 0) return;
        using var span = PlatformTelemetry.StartLinked(PlatformTelemetry.InferenceBatchActivity, batch.Select(i => i.Request.Caller))?
            .SetTag(PlatformTelemetry.ModelTag, ModelName).SetTag("esmc.batch.size", batch.Count);
        try
        {
            var saeIds = batch.Select(i => i.SaeId).Distinct(StringComparer.Ordinal).ToList();
            var output = _engine!.Run(batch.Select(i => i.Tokens).ToList(), new BatchRequest { Saes = saeIds });
            _metrics.RecordBatch(_modelTag, batch.Count, batch.Sum(i => i.Tokens.ResidueCount), output);
            for (var i = 0; i < batch.Count; i++)
                batch[i].Request.Complete(batch[i].Index, output.Sequences[i].Saes[batch[i].SaeId]);
        }
        catch (Exception e)
        {
            PlatformTelemetry.MarkFailed(span, e);
            foreach (var item in batch) item.Request.Fail(e);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _queueObservation.Dispose();
        _channel.Writer.TryComplete();
        Gate.Set();
        _thread.Join();
        while (_channel.Reader.TryRead(out var left))
        {
            if (left is SequenceItem s) s.Request.Fail(new ObjectDisposedException(nameof(TorchFeatureEncoder), "The encoder was disposed before this request ran."));
            if (left is ControlItem c) c.Completion.TrySetResult(false);
            if (left is EngineItem e) e.Completion.TrySetException(new ObjectDisposedException(nameof(TorchFeatureEncoder), "The encoder was disposed before this request ran."));
        }
        Gate.Dispose();
    }

    private abstract record WorkItem;

    private sealed record SequenceItem(PendingRequest Request, int Index, TokenizedSequence Tokens, string SaeId) : WorkItem;

    private sealed record ControlItem(Func<ModelWorker, bool> Action) : WorkItem
    {
        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record EngineItem(Func<EsmcInferenceEngine, object> Action) : WorkItem
    {
        public TaskCompletionSource<object> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PendingRequest
    {
        private readonly TaskCompletionSource<SaeSequenceOutput[]> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SaeSequenceOutput[] _results;
        private readonly CancellationTokenRegistration _registration;
        private int _remaining;

        public PendingRequest(int count, CancellationToken cancellationToken)
        {
            _results = new SaeSequenceOutput[count];
            _remaining = count;
            if (cancellationToken.CanBeCanceled)
                _registration = cancellationToken.Register(() => _completion.TrySetCanceled(cancellationToken));
        }

        public Task<SaeSequenceOutput[]> Task => _completion.Task;

        public bool IsCompleted => _completion.Task.IsCompleted;

        /// <summary>The span of whoever queued the request, linked from the batches that run it.</summary>
        public System.Diagnostics.ActivityContext Caller { get; } = PlatformTelemetry.CallerContext();

        public void Complete(int index, SaeSequenceOutput output)
        {
            _results[index] = output;
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _completion.TrySetResult(_results);
                _registration.Dispose();
            }
        }

        public void Fail(Exception error)
        {
            _completion.TrySetException(error);
            _registration.Dispose();
        }
    }
}
