namespace EsmcFeaturePlatform.Agents.Tests.Infrastructure;

public static class RepoPaths
{
    /// <summary>The checkout root (the folder holding EsmcFeaturePlatform.sln), found by walking up from the test binaries.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln"))) return dir.FullName;
            throw new InvalidOperationException("EsmcFeaturePlatform.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
