namespace EsmcFeaturePlatform.Grains;

/// <summary>The name of the grain storage every platform grain uses.</summary>
public static class GrainStorage
{
    public const string Name = "esmc";
}
