using TorchSharp;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>Turns the <c>Device</c> setting into a torch device at run time, so one build serves CPU and GPU machines.</summary>
public static class DeviceSelector
{
    /// <summary>Validates the setting without touching libtorch: returns (isCuda, index) with "auto" as (null, null).</summary>
    public static (bool? Cuda, int? Index) Parse(string setting)
    {
        var s = (setting ?? "").Trim().ToLowerInvariant();
        if (s is "" or "auto") return (null, null);
        if (s == "cpu") return (false, null);
        if (s == "cuda") return (true, null);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var index) && index >= 0) return (true, index);
        throw new ArgumentException($"Device '{setting}' is not one of auto, cpu, cuda, cuda:N.");
    }

    /// <summary>The backbone dtype a <c>BackbonePrecision</c> setting asks for; null for "auto" (the device decides).</summary>
    public static torch.ScalarType? ParsePrecision(string setting) => (setting ?? "").Trim().ToLowerInvariant() switch
    {
        "" or "auto" => null,
        "float32" or "fp32" => torch.ScalarType.Float32,
        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
        _ => throw new ArgumentException($"Backbone precision '{setting}' is not one of auto, float32, bfloat16."),
    };

    public static torch.Device Resolve(string setting)
    {
        var (cuda, index) = Parse(setting);
        if (cuda is null) return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (cuda == false) return torch.CPU;
        if (!torch.cuda.is_available())
            throw new InvalidOperationException($"Device '{setting}' was requested but libtorch sees no CUDA device (is the CUDA libtorch package built in? README, GPU builds).");
        return index is null ? torch.CUDA : new torch.Device(DeviceType.CUDA, index.Value);
    }
}
