namespace EsmcFeaturePlatform.Abstractions;

/// <summary>Identifies one SAE feature: the SAE id (<c>REPO/layerN</c>) and the feature index.</summary>
[GenerateSerializer, Alias("esmc.FeatureKey.v1")]
public readonly record struct FeatureKey([property: Id(0)] string SaeId, [property: Id(1)] int Index)
{
    /// <summary>The grain key and search-document id (<see cref="Grains.GrainKeys.Feature"/>).</summary>
    public override string ToString() => Grains.GrainKeys.Feature.Format(this);

    /// <summary>The key written by <see cref="ToString"/>; a <see cref="FormatException"/> for anything else.</summary>
    public static FeatureKey Parse(string value) => Grains.GrainKeys.Feature.Parse(value);
}

/// <summary>Corpus statistics of one feature (docs/contracts.md, section 3.3, FeatureStats). All from raw activations.</summary>
[GenerateSerializer, Alias("esmc.FeatureStats.v1")]
public sealed record FeatureStats(
    [property: Id(0)] int Index,
    [property: Id(1)] float? MaxActivation,
    [property: Id(2)] int DocumentCount,
    [property: Id(3)] int CorpusSize)
{
    /// <summary>ln(corpusSize / documentCount) (<see cref="FeatureMath.Idf"/>); null when the feature was never active.</summary>
    public double? Idf => FeatureMath.Idf(CorpusSize, DocumentCount);
}

/// <summary>One protein in which a feature is active (docs/contracts.md, section 3.3, ActivationExample).</summary>
[GenerateSerializer, Alias("esmc.ActivationExample.v1")]
public sealed record ActivationExample(
    [property: Id(0)] string SequenceId,
    [property: Id(1)] float MaxValue,
    [property: Id(2)] int Position,
    [property: Id(3)] string Sequence,
    [property: Id(4)] float[] Activations)
{
    /// <summary>The protein's name from its corpus record (UniProt's recommended name, a FASTA header's description), when it has one.</summary>
    [Id(5)] public string? ProteinName { get; init; }
}

/// <summary>Where a description version stands in review (docs/contracts.md, section 3.3).</summary>
public enum DescriptionStatus
{
    /// <summary>Awaiting review.</summary>
    Proposed,
    /// <summary>Reviewed and accepted: the latest approved version is the feature's description.</summary>
    Approved,
    /// <summary>Reviewed and refused; kept in the history.</summary>
    Rejected,
}

/// <summary>Who wrote a version; <see cref="Imported"/> = taken from a published feature dataset (importFeatureDataset).</summary>
public enum DescriptionSource
{
    /// <summary>Written by the language-model agent.</summary>
    Agent,
    /// <summary>Written by the evidence-only describer (no language model).</summary>
    Evidence,
    /// <summary>Written by a curator.</summary>
    Human,
    /// <summary>Taken from a published feature dataset.</summary>
    Imported,
}

/// <summary>One version of a feature's description; every version is kept (docs/contracts.md, section 3.3, DescriptionVersion).</summary>
[GenerateSerializer, Alias("esmc.DescriptionVersion.v1")]
public sealed record DescriptionVersion(
    [property: Id(0)] int Version,
    [property: Id(1)] string Label,
    [property: Id(2)] string Text,
    [property: Id(3)] DescriptionStatus Status,
    [property: Id(4)] DescriptionSource Source,
    [property: Id(5)] string Author,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] double? Score,
    [property: Id(8)] string? ReviewNote)
{
    // Author (above) is who proposed the version (the API key's name, or the describer), at CreatedAt.

    /// <summary>Who approved or rejected this version (the API key's name); null while it is PROPOSED.</summary>
    [Id(9)] public string? Reviewer { get; init; }

    /// <summary>When it was approved or rejected; null while it is PROPOSED.</summary>
    [Id(10)] public DateTimeOffset? ReviewedAt { get; init; }

    /// <summary>Where an IMPORTED version came from: "dataset DATASET, revision REV, file FILE" (null for other sources).</summary>
    [Id(11)] public string? Provenance { get; init; }
}

/// <summary>Rules over a feature's description history (oldest first), the same for every reader.</summary>
public static class DescriptionHistory
{
    /// <summary>
    /// The feature's current description (docs/contracts.md, section 3.3, Feature.description): the latest APPROVED version, else the
    /// latest version whatever its status, else null (no version yet).
    /// </summary>
    public static DescriptionVersion? Current(IReadOnlyList<DescriptionVersion>? history)
    {
        if (history is null || history.Count == 0) return null;
        for (var i = history.Count - 1; i >= 0; i--)
            if (history[i].Status == DescriptionStatus.Approved) return history[i];
        return history[^1];
    }
}
