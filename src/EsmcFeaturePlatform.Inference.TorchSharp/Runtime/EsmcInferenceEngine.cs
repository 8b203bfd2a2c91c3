using System.Diagnostics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Sae;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>What one <see cref="EsmcInferenceEngine.Run"/> computes besides nothing: every output is opt-in.</summary>
public sealed record BatchRequest
{
    /// <summary>Hidden states h[N] to return (docs/model-math.md, section 3.6), each as [tokens][d] per sequence.</summary>
    public IReadOnlyList<int> HiddenStates { get; init; } = [];

    public bool Logits { get; init; }

    /// <summary>SAE ids to run (<see cref="SaeCheckpoint.Id"/>).</summary>
    public IReadOnlyList<string> Saes { get; init; } = [];

    /// <summary>Also return each SAE's input rows (h[N] or h[N]-h[N-1]).</summary>
    public bool SaeInputs { get; init; }

    /// <summary>Also return per-row reconstruction MSE against the z-scored input.</summary>
    public bool ReconstructionError { get; init; }
}

/// <summary>One SAE's output for one sequence; <see cref="Positions"/> include the &lt;cls&gt; (0) and &lt;eos&gt; (last) rows.</summary>
public sealed record SaeSequenceOutput(string SaeId, FeatureActivation[][] Positions, float[][]? Inputs, float[]? ReconstructionMse)
{
    /// <summary>Residues 1..L only (the contracts' view).</summary>
    public FeatureActivation[][] Residues => Positions[1..^1];
}

public sealed record SequenceOutput(
    long[] Ids,
    IReadOnlyDictionary<int, float[][]> HiddenStates,
    float[][]? Logits,
    IReadOnlyDictionary<string, SaeSequenceOutput> Saes);

public sealed record BatchOutput(IReadOnlyList<SequenceOutput> Sequences, int RealTokens, int PaddedTokens, double BackboneSeconds, double SaeSeconds);

/// <summary>
/// A loaded ESMC model with its SAEs, run synchronously on the calling thread. Not thread-safe: the
/// runtime gives each engine one dedicated thread (<see cref="ModelWorker"/>); tests call it directly.
/// </summary>
public sealed class EsmcInferenceEngine : IDisposable
{
    private readonly EsmcBackbone _backbone;
    private readonly Dictionary<string, SaeEncoder> _saes;

    private EsmcInferenceEngine(EsmcCheckpoint model, EsmcBackbone backbone, Dictionary<string, SaeEncoder> saes)
    {
        Model = model;
        _backbone = backbone;
        _saes = saes;
    }

    public EsmcCheckpoint Model { get; }

    public EsmcModelConfig Config => Model.Config;

    public torch.Device Device => _backbone.Device;

    public IReadOnlyCollection<SaeCheckpoint> Saes => _saes.Values.Select(s => s.Checkpoint).ToList();

    /// <summary>
    /// Loads the model and SAEs. With <paramref name="fullModel"/> false only the blocks the deepest SAE needs
    /// are loaded (no LM head). On CUDA the backbone runs in bfloat16 and the SAEs in float32 (docs/model-math.md, section 3.9).
    /// </summary>
    public static EsmcInferenceEngine Load(EsmcCheckpoint model, IReadOnlyList<SaeCheckpoint> saes, string device = "cpu", bool fullModel = true) =>
        Load(model, saes, device, fullModel, backboneDType: null);

    /// <summary>
    /// As above; <paramref name="backboneDType"/> overrides the device's default (tests run the bfloat16 path on CPU), and
    /// <paramref name="packCpuWeights"/> is <see cref="InferenceOptions.PackCpuWeights"/>.
    /// </summary>
    internal static EsmcInferenceEngine Load(EsmcCheckpoint model, IReadOnlyList<SaeCheckpoint> saes, string device, bool fullModel, ScalarType? backboneDType,
        bool packCpuWeights = true)
    {
        foreach (var sae in saes)
        {
            if (sae.Config.DModel != model.Config.DModel)
                throw new CheckpointException(sae.FilePath, $"SAE d_model {sae.Config.DModel} does not match model {model.Name} hidden size {model.Config.DModel}.");
            if (sae.Layer > model.Config.Layers)
                throw new CheckpointException(sae.FilePath, $"SAE layer {sae.Layer} is beyond model {model.Name}'s {model.Config.Layers} layers.");
        }
        var torchDevice = DeviceSelector.Resolve(device);
        var dtype = backboneDType ?? (torchDevice.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32);
        var maxLayer = fullModel ? model.Config.Layers : saes.Count == 0 ? 0 : saes.Max(s => s.Layer);
        var backbone = EsmcBackbone.Load(model, torchDevice, dtype, maxLayer, loadHead: fullModel, packWeights: packCpuWeights);
        var encoders = new Dictionary<string, SaeEncoder>(StringComparer.Ordinal);
        try
        {
            foreach (var sae in saes)
                if (!encoders.ContainsKey(sae.Id)) encoders[sae.Id] = SaeEncoder.Load(sae, torchDevice, packCpuWeights);
        }
        catch
        {
            foreach (var e in encoders.Values) e.Dispose();
            backbone.Dispose();
            throw;
        }
        return new EsmcInferenceEngine(model, backbone, encoders);
    }

    /// <summary>Nearest features of <paramref name="saeId"/> by decoder cosine; indices must already be validated.</summary>
    public DecoderNeighbor[][] NearestByDecoder(string saeId, IReadOnlyList<int> features, int count) =>
        (_saes.TryGetValue(saeId, out var sae) ? sae : throw new UnknownSaeException(saeId)).NearestByDecoder(features, count);

    public BatchOutput Run(IReadOnlyList<TokenizedSequence> batch, BatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) return new BatchOutput([], 0, 0, 0, 0);
        var saes = request.Saes.Select(id => _saes.TryGetValue(id, out var e) ? e : throw new UnknownSaeException(id)).ToList();
        foreach (var sequence in batch)
            foreach (var id in sequence.Ids)
                if (id < 0 || id >= Config.VocabRows)
                    throw new ArgumentException($"Token id {id} is outside the embedding table (0..{Config.VocabRows - 1}).", nameof(batch));
        if (saes.Count > 0 && batch.Any(s => s.MaskTokens > 0))
            throw new InvalidSequenceException("SAE inputs must not contain <mask> tokens; SAEs were trained on unmasked sequences.");

        var layers = new HashSet<int>(request.HiddenStates);
        foreach (var sae in saes)
        {
            layers.Add(sae.Checkpoint.Layer);
            if (sae.Checkpoint.ResidualUpdate && sae.Checkpoint.Layer > 0) layers.Add(sae.Checkpoint.Layer - 1);
        }

        var count = batch.Count;
        var length = batch.Max(s => s.TokenCount);
        var lengths = batch.Select(s => s.TokenCount).ToArray();
        var realTokens = lengths.Sum();
        var ids = new long[count * length];
        Array.Fill(ids, EsmcTokenizer.PadId);
        var realRows = new long[realTokens];
        var r = 0;
        for (var b = 0; b < count; b++)
        {
            batch[b].Ids.CopyTo(ids, b * length);
            for (var t = 0; t < lengths[b]; t++) realRows[r++] = (long)b * length + t;
        }

        var hidden = request.HiddenStates.ToDictionary(l => l, _ => new float[count][][]);
        float[][][]? logits = request.Logits ? new float[count][][] : null;
        var saeOutputs = new Dictionary<string, (FeatureActivation[][][] Positions, float[][][]? Inputs, float[][]? Mse)>();
        double backboneSeconds, saeSeconds = 0;

        using (inference_mode())
        using (var scope = NewDisposeScope())
        {
            var stopwatch = Stopwatch.StartNew();
            var idTensor = tensor(ids, [count, length], ScalarType.Int64, Device);
            var (states, logitsTensor) = _backbone.Forward(idTensor, realTokens == count * length ? null : lengths, layers, request.Logits);
            var rowIndex = tensor(realRows, ScalarType.Int64, Device);
            Tensor RealRows(Tensor t) => index_select(t.reshape(count * length, -1), 0, rowIndex).to(ScalarType.Float32);

            foreach (var layer in request.HiddenStates)
                hidden[layer] = Split(ToManaged(RealRows(states[layer])), lengths);
            if (logitsTensor is not null) logits = Split(ToManaged(RealRows(logitsTensor)), lengths);
            backboneSeconds = stopwatch.Elapsed.TotalSeconds;

            foreach (var sae in saes)
            {
                stopwatch.Restart();
                var layer = sae.Checkpoint.Layer;
                var input = RealRows(states[layer]);
                if (sae.Checkpoint.ResidualUpdate && layer > 0) input = input - RealRows(states[layer - 1]);
                var result = sae.Encode(input, request.ReconstructionError);
                // SaeSeconds is the native work only; the feature lists below are managed overhead (issue 18 measures it).
                saeSeconds += stopwatch.Elapsed.TotalSeconds;
                var rows = new FeatureActivation[realTokens][];
                for (var i = 0; i < realTokens; i++) rows[i] = result.Row(i);
                saeOutputs[sae.Checkpoint.Id] = (
                    Split(rows, lengths),
                    request.SaeInputs ? Split(ToManaged(input), lengths) : null,
                    result.ReconstructionMse is { } mse ? Split(mse, lengths) : null);
            }
        }

        var sequences = new SequenceOutput[count];
        for (var b = 0; b < count; b++)
        {
            var index = b;
            sequences[b] = new SequenceOutput(
                batch[b].Ids,
                hidden.ToDictionary(kv => kv.Key, kv => kv.Value[index]),
                logits?[b],
                saeOutputs.ToDictionary(kv => kv.Key, kv => new SaeSequenceOutput(kv.Key, kv.Value.Positions[index], kv.Value.Inputs?[index], kv.Value.Mse?[index])));
        }
        return new BatchOutput(sequences, realTokens, count * length, backboneSeconds, saeSeconds);
    }

    private static float[][] ToManaged(Tensor rows)
    {
        var n = (int)rows.shape[0];
        var width = (int)rows.shape[1];
        var flat = rows.cpu().contiguous().data<float>().ToArray();
        var result = new float[n][];
        for (var i = 0; i < n; i++) result[i] = flat.AsSpan(i * width, width).ToArray();
        return result;
    }

    private static T[][] Split<T>(T[] rows, int[] lengths)
    {
        var result = new T[lengths.Length][];
        var offset = 0;
        for (var b = 0; b < lengths.Length; b++)
        {
            result[b] = rows.AsSpan(offset, lengths[b]).ToArray();
            offset += lengths[b];
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var e in _saes.Values) e.Dispose();
        _backbone.Dispose();
    }
}
