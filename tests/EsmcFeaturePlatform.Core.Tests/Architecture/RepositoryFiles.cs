namespace EsmcFeaturePlatform.Core.Tests.Architecture;

/// <summary>The checked-out repository as the architecture tests read it: its root and its own source files.</summary>
internal static class RepositoryFiles
{
    // Build outputs and installed packages are not the repository's own text (.gitignore names the same folders).
    private static readonly HashSet<string> SkippedFolders = new(StringComparer.Ordinal) { "bin", "obj", "node_modules", "TestResults", ".git" };

    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EsmcFeaturePlatform.sln"))) return dir.FullName;
        throw new InvalidOperationException("EsmcFeaturePlatform.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every file under <paramref name="folder"/> (relative to the root), build outputs and packages left out.</summary>
    public static IEnumerable<string> Under(string folder)
    {
        var start = Path.Combine(Root(), folder);
        if (!Directory.Exists(start)) yield break;
        var pending = new Stack<string>([start]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var file in Directory.EnumerateFiles(dir)) yield return file;
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (!SkippedFolders.Contains(Path.GetFileName(sub))) pending.Push(sub);
        }
    }

    /// <summary>The path relative to the root with forward slashes, as messages and documents write it.</summary>
    public static string Relative(string path) => Path.GetRelativePath(Root(), path).Replace('\\', '/');
}
