using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Inference.TorchSharp;

/// <summary>Inference settings, bound from the configuration section <see cref="SectionName"/>.</summary>
public sealed class InferenceOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Inference";

    /// <summary>Longest accepted input in tokens, including &lt;cls&gt; and &lt;eos&gt; (docs/model-math.md, section 2.5).</summary>
    public int MaxTokens { get; set; } = 2048;

    /// <summary>How the host calls <see cref="MaxTokens"/> (the CLI: --max-tokens), named in every too-long error.</summary>
    public string MaxTokensSetting { get; set; } = $"{SectionName}:MaxTokens";

    /// <summary>Padded tokens (batch size x longest sequence) per forward pass.</summary>
    public int MaxBatchTokens { get; set; } = 8192;

    /// <summary>Queued sequences per model before <see cref="EsmcFeaturePlatform.Abstractions.OverloadedException"/>.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Longest-to-shortest token-count ratio allowed within one batch. Batches are padded to their longest
    /// sequence, so this bounds padding waste (1.1 keeps it under ~9%); larger values make bigger batches.
    /// </summary>
    public double MaxLengthSpread { get; set; } = 1.1;

    /// <summary>How long the worker waits for more requests after the first one arrives, to fill a batch.</summary>
    public int BatchWindowMilliseconds { get; set; } = 5;

    /// <summary>auto | cpu | cuda | cuda:N. "auto" picks CUDA when libtorch sees a GPU.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>
    /// Compute type of the transformer blocks: auto (bfloat16 on CUDA, float32 on CPU), float32 or bfloat16. The SAE
    /// always runs in float32. bfloat16 on CPU is an opt-in speed option (BENCHMARKS.md section 7 measures its
    /// deviation from float32); golden parity is defined in float32.
    /// </summary>
    public string BackbonePrecision { get; set; } = "auto";

    /// <summary>libtorch intra-op threads (process-wide); null leaves libtorch's default.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// On Linux with glibc, keep memory that libtorch frees inside the process instead of returning it to the kernel
    /// (process-wide, set when the first model worker starts): each forward pass then reuses its tensors' pages instead
    /// of page-faulting them anew, about 10% of the CPU on the machine measured in BENCHMARKS.md section 7. The process
    /// keeps its high-water mark of native memory; set false where returning memory between batches matters more.
    /// </summary>
    public bool KeepFreedNativeMemory { get; set; } = true;

    /// <summary>
    /// Pack the float32 CPU matmul weights (the blocks' q, k, v, output, gate|up and down, and each SAE's W_enc) once at load
    /// into MKL's GEMM layout, so no product repacks them: about 5% less CPU per residue on the machine measured in
    /// BENCHMARKS.md section 7, the same features, activations equal up to float32 rounding (MKL's own summation order).
    /// The packed copies replace the weights, but MKL allocates about twice their size (2.59 GB for ESMC-300M's 1.27 GB of
    /// block and W_enc weights); set false where memory is tight.
    /// No effect on CUDA, on a bfloat16 backbone, or with a libtorch built without MKL.
    /// </summary>
    public bool PackCpuWeights { get; set; } = true;

    /// <summary>Models idle longer than this are freed by <see cref="TorchFeatureEncoder.UnloadIdleModels"/>; zero = never.</summary>
    public TimeSpan IdleUnloadAfter { get; set; } = TimeSpan.Zero;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (MaxTokens < 3) throw new ArgumentException($"{SectionName}:MaxTokens must be at least 3 (<cls>, one residue, <eos>); got {MaxTokens}.");
        if (MaxBatchTokens < MaxTokens) throw new ArgumentException($"{SectionName}:MaxBatchTokens ({MaxBatchTokens}) must be at least MaxTokens ({MaxTokens}) so that the longest sequence fits one batch.");
        if (QueueCapacity < 1) throw new ArgumentException($"{SectionName}:QueueCapacity must be positive; got {QueueCapacity}.");
        if (BatchWindowMilliseconds < 0) throw new ArgumentException($"{SectionName}:BatchWindowMilliseconds must not be negative; got {BatchWindowMilliseconds}.");
        if (!(MaxLengthSpread >= 1.0)) throw new ArgumentException($"{SectionName}:MaxLengthSpread must be at least 1.0; got {MaxLengthSpread}.");
        if (IntraOpThreads is < 1) throw new ArgumentException($"{SectionName}:IntraOpThreads must be positive when set; got {IntraOpThreads}.");
        if (IdleUnloadAfter < TimeSpan.Zero) throw new ArgumentException($"{SectionName}:IdleUnloadAfter must not be negative.");
        Runtime.DeviceSelector.Parse(Device);
        Runtime.DeviceSelector.ParsePrecision(BackbonePrecision);
    }
}
