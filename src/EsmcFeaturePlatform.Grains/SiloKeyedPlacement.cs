using Orleans.Placement;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Places a grain keyed <c>SILO|...</c> on that silo while it is alive (see the director in the host).</summary>
[GenerateSerializer, Immutable, Alias("esmc.SiloKeyedPlacement")]
public sealed class SiloKeyedPlacement : PlacementStrategy
{
    public static SiloKeyedPlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloKeyedPlacementAttribute() : PlacementAttribute(SiloKeyedPlacement.Instance);
