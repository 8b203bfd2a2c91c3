namespace EsmcFeaturePlatform.Abstractions;

/// <summary>One entry of a feature list: a feature index and its (raw or normalized) value.</summary>
[GenerateSerializer, Alias("esmc.FeatureActivation.v1")]
public readonly record struct FeatureActivation([property: Id(0)] int Index, [property: Id(1)] float Value);

/// <summary>A pooled feature: the max over residues, and the 1-based residue of that max (first on ties).</summary>
[GenerateSerializer, Alias("esmc.PooledActivation.v1")]
public readonly record struct PooledActivation([property: Id(0)] int Index, [property: Id(1)] float Value, [property: Id(2)] int Position);
