using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;

namespace EsmcFeaturePlatform.Inference.TorchSharp;

/// <summary>
/// <see cref="IFeatureEncoder"/> over TorchSharp: one <see cref="ModelWorker"/> (thread + queue) per
/// base model, serving every SAE of that model. Opening only validates headers; weights load on first use.
/// </summary>
public sealed class TorchFeatureEncoder : IFeatureEncoder, IDecoderNeighbors, IDisposable
{
    private readonly InferenceOptions _options;
    private readonly Dictionary<string, (SaeCheckpoint Checkpoint, ModelWorker Worker)> _byId;
    private readonly List<ModelWorker> _workers;
    private readonly Dictionary<string, NormalizationStats?> _statistics = new(StringComparer.Ordinal);

    private TorchFeatureEncoder(IReadOnlyList<DiscoveredModel> models, IReadOnlyList<LoadProblem> problems, InferenceOptions options)
    {
        _options = options;
        _byId = new Dictionary<string, (SaeCheckpoint, ModelWorker)>(StringComparer.Ordinal);
        _workers = [];
        var descriptors = new List<SaeDescriptor>();
        var allProblems = problems.ToList();
        foreach (var model in models)
        {
            if (model.Saes.Count == 0) continue;
            var worker = new ModelWorker(model.Checkpoint, model.Saes, options, Metrics);
            _workers.Add(worker);
            var isDemo = DemoModel.IsDemoCheckpoint(model.Checkpoint.Directory);
            foreach (var sae in model.Saes.OrderBy(s => s.Id, StringComparer.Ordinal))
            {
                NormalizationStats stats;
                try
                {
                    stats = sae.ReadStatistics();
                }
                catch (CheckpointException e)
                {
                    allProblems.Add(new LoadProblem(sae.FilePath, e.Message));
                    continue;
                }
                var usable = SaeCheckpoint.AreUsable(stats);
                _statistics[sae.Id] = usable ? stats : null;
                _byId[sae.Id] = (sae, worker);
                descriptors.Add(new SaeDescriptor(sae.Id, model.Checkpoint.Name, sae.Layer, sae.Config.K, sae.Config.CodebookSize,
                    sae.Config.DModel, usable, sae.ResidualUpdate) { IsDemo = isDemo });
            }
        }
        Saes = descriptors;
        LoadProblems = allProblems;
    }

    public IReadOnlyList<SaeDescriptor> Saes { get; }

    public IReadOnlyList<LoadProblem> LoadProblems { get; }

    public SequenceLengthLimit LengthLimit => new(_options.MaxTokens, _options.MaxTokensSetting);

    public InferenceMetrics Metrics { get; } = new();

    /// <summary>Every model and SAE found under <paramref name="modelRoot"/>; broken ones are in <see cref="LoadProblems"/>.</summary>
    public static TorchFeatureEncoder OpenModelRoot(string modelRoot, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (models, problems) = ModelRoot.Scan(modelRoot);
        return new TorchFeatureEncoder(models, problems, options);
    }

    /// <summary>One model folder and one SAE layer (the CLI's <c>encode</c>); any problem throws <see cref="CheckpointException"/>.</summary>
    public static TorchFeatureEncoder OpenSingle(string modelDir, string saeRepoDir, int layer, InferenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var model = EsmcCheckpoint.Open(modelDir);
        var sae = SaeCheckpoint.Open(saeRepoDir, layer, model.Config, model.Directory);
        var encoder = new TorchFeatureEncoder([new DiscoveredModel(model, [sae])], [], options);
        if (encoder.LoadProblems.Count > 0)
        {
            var problem = encoder.LoadProblems[0];
            encoder.Dispose();
            throw new CheckpointException(problem.Path, problem.Reason);
        }
        return encoder;
    }

    public NormalizationStats? GetCheckpointStatistics(string saeId)
    {
        if (!_byId.ContainsKey(saeId)) throw new UnknownSaeException(saeId);
        return _statistics[saeId];
    }

    public async Task<IReadOnlyList<EncodedSequence>> EncodeAsync(string saeId, IReadOnlyList<string> sequences, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (!_byId.TryGetValue(saeId, out var target)) throw new UnknownSaeException(saeId);
        var tokens = new TokenizedSequence[sequences.Count];
        for (var i = 0; i < sequences.Count; i++)
            tokens[i] = EsmcTokenizer.TokenizeForSae(sequences[i], LengthLimit, sequences.Count == 1 ? "#1" : $"#{i + 1} of {sequences.Count}");
        var outputs = await target.Worker.SubmitAsync(saeId, tokens, cancellationToken).ConfigureAwait(false);
        var result = new EncodedSequence[outputs.Length];
        for (var i = 0; i < outputs.Length; i++)
        {
            var residues = outputs[i].Residues;
            result[i] = new EncodedSequence(saeId, residues.Length, residues, FeatureMath.Pool(residues), tokens[i].UnknownTokens);
        }
        return result;
    }

    public Task<DecoderNeighbor[][]> NearestByDecoderAsync(string saeId, IReadOnlyList<int> features, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (!_byId.TryGetValue(saeId, out var target)) throw new UnknownSaeException(saeId);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var codebook = target.Checkpoint.Config.CodebookSize;
        foreach (var f in features)
            if (f < 0 || f >= codebook) throw new FeatureIndexOutOfRangeException(saeId, f, codebook);
        if (features.Count == 0 || count == 0) return Task.FromResult(features.Select(_ => Array.Empty<DecoderNeighbor>()).ToArray());
        var copy = features.ToArray();
        return target.Worker.RunOnEngineAsync(e => e.NearestByDecoder(saeId, copy, count), cancellationToken);
    }

    /// <summary>Frees models idle longer than <see cref="InferenceOptions.IdleUnloadAfter"/>; they reload on next use. Returns how many were freed.</summary>
    public int UnloadIdleModels()
    {
        if (_options.IdleUnloadAfter <= TimeSpan.Zero) return 0;
        return _workers.Count(w => w.UnloadIfIdle(_options.IdleUnloadAfter));
    }

    /// <summary>The worker serving <paramref name="saeId"/> (tests hold its gate to fill the queue deterministically).</summary>
    internal ModelWorker WorkerFor(string saeId) => _byId.TryGetValue(saeId, out var t) ? t.Worker : throw new UnknownSaeException(saeId);

    public void Dispose()
    {
        foreach (var worker in _workers) worker.Dispose();
    }
}
