using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Section <c>Esmc:Describe</c>: how describeFeatures jobs gather evidence and how many features run at once.</summary>
public sealed class DescribeOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Describe";

    /// <summary>Features described at the same time (each is one describer call; for an LLM, one conversation).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Features per committed chunk: a resumed job redoes at most one chunk.</summary>
    public int ChunkSize { get; set; } = 16;

    public int TopExamples { get; set; } = 20;

    public int QuantileExamples { get; set; } = 20;

    /// <summary>Corpus proteins encoded once per job to find, per feature, proteins where it is inactive.</summary>
    public int NonActivatingPool { get; set; } = 48;

    /// <summary>Non-activating examples handed to the describer per feature.</summary>
    public int NonActivatingExamples { get; set; } = 20;

    /// <summary>Nearest features by decoder cosine handed to the describer per feature (0: none).</summary>
    public int NearestFeatures { get; set; } = 10;

    /// <summary>Per-feature failure messages kept on the job.</summary>
    public int MaxRecordedFailures { get; set; } = 50;

    public void Validate()
    {
        if (MaxConcurrency < 1) throw new ArgumentException($"{SectionName}:MaxConcurrency must be positive; got {MaxConcurrency}.");
        if (ChunkSize < 1) throw new ArgumentException($"{SectionName}:ChunkSize must be positive; got {ChunkSize}.");
        if (TopExamples < 1 || QuantileExamples < 0 || NonActivatingPool < 0 || NonActivatingExamples < 0 || MaxRecordedFailures < 0 || NearestFeatures < 0)
            throw new ArgumentException($"{SectionName}: example counts must not be negative (TopExamples at least 1).");
    }
}
