using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// The ESMC encoder (docs/model-math.md, section 3) as plain weight tensors and functional ops: fused q|k|v, LayerNorm on
/// q and k over the full width, rotate-half RoPE, SDPA with a key-padding mask, SwiGLU, residual updates
/// divided by s = sqrt(n_layers/36). Callers own the dispose scope of everything Forward returns.
/// </summary>
internal sealed class EsmcBackbone : IDisposable
{
    private const double LayerNormEps = 1e-5;

    private readonly Tensor _embedding;
    private readonly BlockWeights[] _blocks;
    private readonly Tensor? _finalNorm;
    private readonly HeadWeights? _head;
    private readonly long[] _dShape;
    private readonly Workspace _workspace = new();
    private readonly bool _cpuAttention;   // attention by CpuAttention (else SDPA, which alone needs the key mask)

    private EsmcBackbone(EsmcModelConfig config, Device device, ScalarType dtype, Tensor embedding, BlockWeights[] blocks, Tensor? finalNorm, HeadWeights? head)
    {
        Config = config;
        Device = device;
        DType = dtype;
        _embedding = embedding;
        _blocks = blocks;
        _finalNorm = finalNorm;
        _head = head;
        _dShape = [config.DModel];
        _cpuAttention = CpuAttention.Supports(device.type, dtype, config.HeadDim);
    }

    public EsmcModelConfig Config { get; }

    public Device Device { get; }

    public ScalarType DType { get; }

    /// <summary>Deepest hidden state this instance can compute (fewer blocks are loaded when the SAEs need fewer).</summary>
    public int MaxLayer => _blocks.Length == Config.Layers && _finalNorm is not null ? Config.Layers : _blocks.Length;

    public bool HasHead => _head is not null;

    /// <summary>
    /// Loads the weights needed for hidden states up to <paramref name="maxLayer"/> (all when null), plus the LM head if
    /// asked and present. With <paramref name="packWeights"/> the blocks' matmul weights are packed for MKL where they
    /// are float32 on the CPU (<see cref="PackedMatrix"/>).
    /// </summary>
    public static EsmcBackbone Load(EsmcCheckpoint checkpoint, Device device, ScalarType dtype, int? maxLayer = null, bool loadHead = true, bool packWeights = false)
    {
        var config = checkpoint.Config;
        var layer = Math.Clamp(maxLayer ?? config.Layers, 0, config.Layers);
        var blockCount = Math.Min(layer, config.Layers);
        var owned = new List<IDisposable>();
        Tensor L(WeightSource s)
        {
            var t = TensorLoading.Load(s, device, dtype);
            owned.Add(t);
            return t;
        }
        LinearWeight W(Tensor weight)
        {
            var w = LinearWeight.Create(weight, packWeights);
            owned.RemoveAll(o => ReferenceEquals(o, weight));   // Tensor.Equals compares values
            owned.Add(w);
            return w;
        }
        // q, k and v as three weights (row blocks of the fused one): each product then comes out contiguous, so
        // LayerNorm and attention copy nothing.
        LinearWeight[] Split(Tensor qkv)
        {
            var d = config.DModel;
            var parts = new LinearWeight[3];
            for (var p = 0; p < 3; p++)
            {
                using var rows = qkv.narrow(0, p * d, d);
                parts[p] = W(rows.contiguous());
            }
            owned.RemoveAll(o => ReferenceEquals(o, qkv));
            qkv.Dispose();
            return parts;
        }
        try
        {
            var embedding = L(checkpoint.Embedding);
            var blocks = new BlockWeights[blockCount];
            for (var i = 0; i < blockCount; i++)
            {
                var b = checkpoint.Blocks[i];
                var qkv = Split(L(b.Qkv));
                blocks[i] = new BlockWeights(L(b.AttnNormWeight), L(b.AttnNormBias), qkv[0], qkv[1], qkv[2], L(b.QNorm), L(b.KNorm), W(L(b.AttnOut)),
                    L(b.FfnNormWeight), L(b.FfnNormBias), W(L(b.FfnIn)), W(L(b.FfnOut)));
            }
            var full = layer == config.Layers;
            var finalNorm = full ? L(checkpoint.FinalNorm) : null;
            HeadWeights? head = null;
            if (full && loadHead && checkpoint.Head is { } h)
                head = new HeadWeights(L(h.DenseWeight), L(h.DenseBias), L(h.NormWeight), L(h.NormBias), L(h.DecoderWeight), L(h.DecoderBias));
            return new EsmcBackbone(config, device, dtype, embedding, blocks, finalNorm, head);
        }
        catch
        {
            foreach (var t in owned) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the encoder on right-padded <paramref name="ids"/> [B, L] and returns h[N] for every N in
    /// <paramref name="layers"/> (docs/model-math.md, section 3.6) in the compute dtype, running only the blocks the deepest
    /// requested layer needs. <paramref name="lengths"/> holds each row's real tokens, the rest of the row being padding that
    /// no token attends to (null: no padding).
    /// </summary>
    public (Dictionary<int, Tensor> Hidden, Tensor? Logits) Forward(Tensor ids, int[]? lengths, IReadOnlyCollection<int> layers, bool logits)
    {
        var n = Config.Layers;
        foreach (var layer in layers)
            if (layer < 0 || layer > MaxLayer)
                throw new ArgumentOutOfRangeException(nameof(layers), $"Hidden state {layer} is outside 0..{MaxLayer} for this model.");
        if (logits && _head is null)
            throw new InvalidOperationException("This checkpoint has no LM head (or it was not loaded), so logits are unavailable.");
        var deepest = logits ? n : layers.Count == 0 ? 0 : layers.Max();
        var blocksToRun = Math.Min(deepest, n);

        var batch = ids.shape[0];
        var length = ids.shape[1];
        var hidden = new Dictionary<int, Tensor>();
        var x = index_select(_embedding, 0, ids.reshape(-1)).reshape(batch, length, Config.DModel);
        if (layers.Contains(0)) hidden[0] = x;

        var (cos, sin) = RotaryTables(length);
        var keys = new AttentionKeys(lengths, lengths is null || _cpuAttention ? null : KeyMask(lengths, length, Device));
        var scale = Config.ResidueScalingFactor;
        for (var b = 0; b < blocksToRun; b++)
        {
            var block = _blocks[b];
            var input = x;
            // Each block's intermediates (q/k/v, the 2F-wide FFN activations) die with its own scope, so memory
            // scales with one block's work, not with the depth; only the residual stream moves out.
            using (var blockScope = NewDisposeScope())
            {
                // In place on each branch's own fresh output (never on x, which may be a returned hidden state):
                // y / s + x, the same arithmetic as x + y / s (addition commutes), without another [tokens, d] tensor.
                x = Attention(block, x, cos, sin, keys).DividedInPlaceBy(scale).PlusInPlace(x);
                x = FeedForward(block, x).DividedInPlaceBy(scale).PlusInPlace(x).MoveToOuterDisposeScope();
            }
            if (b + 1 < n && layers.Contains(b + 1)) hidden[b + 1] = x;
            if (!hidden.ContainsValue(input)) input.Dispose();
        }
        Tensor? last = null;
        if (deepest == n)
        {
            last = layer_norm(x, _dShape, _finalNorm!, null, LayerNormEps);
            if (layers.Contains(n)) hidden[n] = last;
        }
        Tensor? logitsTensor = null;
        if (logits)
        {
            var h = _head!;
            var y = gelu(linear(last!, h.DenseWeight, h.DenseBias));
            y = layer_norm(y, _dShape, h.NormWeight, h.NormBias, LayerNormEps);
            logitsTensor = linear(y, h.DecoderWeight, h.DecoderBias);
        }
        return (hidden, logitsTensor);
    }

    /// <summary>[B, 1, 1, L], true for the first lengths[b] keys of row b: SDPA's key mask.</summary>
    internal static Tensor KeyMask(int[] lengths, long length, Device device)
    {
        using var positions = ScalarOps.Range(length, ScalarType.Int64, device);
        using var counts = tensor(lengths.Select(n => (long)n).ToArray(), ScalarType.Int64, device);
        return positions.unsqueeze(0).lt(counts.unsqueeze(1)).reshape(lengths.Length, 1, 1, length);
    }

    private Tensor Attention(BlockWeights w, Tensor x, Tensor cos, Tensor sin, AttentionKeys keys)
    {
        var batch = x.shape[0];
        var length = x.shape[1];
        var d = Config.DModel;
        var heads = Config.Heads;
        var headDim = Config.HeadDim;
        var a = layer_norm(x, _dShape, w.AttnNormWeight, w.AttnNormBias, LayerNormEps);
        // q, k and v into their own buffers rather than one [tokens, 3d] buffer: each comes out contiguous, so
        // LayerNorm and attention need no copy of a strided view.
        var q = NormRotary(_workspace.Linear("q", a, w.Q), w.QNorm, cos, sin);
        var k = NormRotary(_workspace.Linear("k", a, w.K), w.KNorm, cos, sin);
        var v = _workspace.Linear("v", a, w.V);
        if (_cpuAttention)
        {
            var output = _workspace.Rows("attention", batch * length, d, q.dtype, q.device).view(batch, length, d);
            CpuAttention.Run(q, k, v, keys.Lengths, output);
            return w.AttnOut.Apply(output);
        }
        // SDPA on the [B, H, L, d_head] views (the head transpose as a view of the [B, L, H, d_head] products).
        Tensor Heads(Tensor t) => t.reshape(batch, length, heads, headDim).transpose(1, 2);
        var context = scaled_dot_product_attention(Heads(q), Heads(k), Heads(v), keys.Mask);
        return w.AttnOut.Apply(context.transpose(1, 2).reshape(batch, length, d));
    }

    /// <summary>
    /// Which keys are real: each row's count for <see cref="CpuAttention"/>, and the same as a mask for SDPA, built only
    /// when SDPA runs (null: no padding).
    /// </summary>
    private sealed record AttentionKeys(int[]? Lengths, Tensor? Mask);

    private Tensor FeedForward(BlockWeights w, Tensor x)
    {
        var a = layer_norm(x, [x.shape[^1]], w.FfnNormWeight, w.FfnNormBias, LayerNormEps);
        var gateUp = _workspace.Linear("gate|up", a, w.FfnIn).chunk(2, -1);
        // In place on the gate half of the gate|up buffer: silu(g) * u without two more [tokens, F] tensors.
        return w.FfnOut.Apply(silu(gateUp[0], inplace: true).mul_(gateUp[1]));
    }

    /// <summary>
    /// The q or k LayerNorm (no bias) and then rotate-half RoPE (GPT-NeoX pairing i, i + d_head/2), docs/model-math.md,
    /// section 3.3: y cos + [-y2, y1] sin, on [B, L, d] → [B, L, d]. Written as y cos + roll(y, d_head/2) sin' with
    /// sin' = [-sin, sin] (the sign moved into the table, exact), so it is one roll, two multiplies and an add instead of
    /// narrows, a negation, a concatenation, two multiplies and an add, with the same roundings in every dtype (an addcmul
    /// would round once less, which moves bfloat16 results). On float32 CPU tensors it is one fused pass in place on the
    /// product's workspace buffer (<see cref="QkNormRotary"/>); elsewhere libtorch's operators on the [B, L, H, d_head]
    /// layout with the tables broadcast over the heads.
    /// </summary>
    private Tensor NormRotary(Tensor x, Tensor weight, Tensor cos, Tensor signedSin)
    {
        var headDim = Config.HeadDim;
        if (QkNormRotary.Supports(x, headDim))
        {
            QkNormRotary.ApplyInPlace(x, weight, cos, signedSin, x.shape[1], headDim, LayerNormEps);
            return x;
        }
        var y = layer_norm(x, _dShape, weight, null, LayerNormEps).reshape(x.shape[0], x.shape[1], Config.Heads, headDim);
        var half = headDim / 2;
        var (c, s) = (cos.unsqueeze(1), signedSin.unsqueeze(1));
        return (y * c).Plus(y.roll(half, -1).mul_(s)).reshape(x.shape);
    }

    private (Tensor Cos, Tensor Sin) RotaryTables(long length)
    {
        // Angles in float64, then cast: more exact than the reference's float32 tables, and within their rounding.
        var headDim = Config.HeadDim;
        var inverseFrequencies = new double[headDim / 2];
        for (var i = 0; i < inverseFrequencies.Length; i++) inverseFrequencies[i] = 1.0 / Math.Pow(Config.RopeTheta, 2.0 * i / headDim);
        var invFreq = tensor(inverseFrequencies, ScalarType.Float64, Device);
        var positions = ScalarOps.Range(length, ScalarType.Float64, Device);
        var freqs = outer(positions, invFreq);
        var angles = cat([freqs, freqs], -1);
        var sin = angles.sin();
        var signedSin = cat([sin.narrow(-1, 0, headDim / 2).neg(), sin.narrow(-1, headDim / 2, headDim / 2)], -1);
        // [L, d_head], contiguous: one row per position.
        return (angles.cos().to(DType).contiguous(), signedSin.to(DType).contiguous());
    }

    public void Dispose()
    {
        _workspace.Dispose();
        _embedding.Dispose();
        foreach (var b in _blocks) b.Dispose();
        _finalNorm?.Dispose();
        _head?.Dispose();
    }

    private sealed record BlockWeights(Tensor AttnNormWeight, Tensor AttnNormBias, LinearWeight Q, LinearWeight K, LinearWeight V, Tensor QNorm, Tensor KNorm,
        LinearWeight AttnOut, Tensor FfnNormWeight, Tensor FfnNormBias, LinearWeight FfnIn, LinearWeight FfnOut) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in new IDisposable[] { AttnNormWeight, AttnNormBias, Q, K, V, QNorm, KNorm, AttnOut, FfnNormWeight, FfnNormBias, FfnIn, FfnOut }) t.Dispose();
        }
    }

    private sealed record HeadWeights(Tensor DenseWeight, Tensor DenseBias, Tensor NormWeight, Tensor NormBias, Tensor DecoderWeight, Tensor DecoderBias) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in new[] { DenseWeight, DenseBias, NormWeight, NormBias, DecoderWeight, DecoderBias }) t.Dispose();
        }
    }
}
