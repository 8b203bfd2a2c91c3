using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

/// <summary>What every job persists about its lifecycle (the rest of its state is the job's own progress).</summary>
public interface IJobState
{
    /// <summary>Whether a job with this id was started (its request is stored).</summary>
    bool IsStarted { get; }

    JobStatus Status { get; set; }

    string? Error { get; set; }

    DateTimeOffset CreatedAt { get; set; }

    DateTimeOffset UpdatedAt { get; set; }
}
