using System.Xml.Linq;

namespace EsmcFeaturePlatform.Core.Tests.Architecture;

/// <summary>
/// Dependency arrows point inward (docs/architecture.md, section 2): everything may reference Abstractions; grains and
/// the API never see an implementation (inference, search, agent); only hosts choose implementations. This test
/// reads the real project files, so a wrong reference fails here rather than in review.
/// </summary>
public sealed class DependencyRuleTests
{
    private static readonly string[] Hosts = ["EsmcFeaturePlatform.Server", "EsmcFeaturePlatform.Cli", "EsmcFeaturePlatform.Benchmarks"];

    private static readonly string[] Implementations =
        ["EsmcFeaturePlatform.Inference.TorchSharp", "EsmcFeaturePlatform.Search.Lucene", "EsmcFeaturePlatform.Search.Elasticsearch", "EsmcFeaturePlatform.Agents",
         "EsmcFeaturePlatform.Safety"];

    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["EsmcFeaturePlatform.Abstractions"] = [],
        ["EsmcFeaturePlatform.Corpus"] = ["EsmcFeaturePlatform.Abstractions"],
        ["EsmcFeaturePlatform.HuggingFace"] = [],   // the Hub client: plain .NET, shared by the CLI and the server
        ["EsmcFeaturePlatform.Inference.TorchSharp"] = ["EsmcFeaturePlatform.Abstractions"],
        ["EsmcFeaturePlatform.Search.Lucene"] = ["EsmcFeaturePlatform.Abstractions"],
        ["EsmcFeaturePlatform.Search.Elasticsearch"] = ["EsmcFeaturePlatform.Abstractions"],
        ["EsmcFeaturePlatform.Agents"] = ["EsmcFeaturePlatform.Abstractions", "EsmcFeaturePlatform.Corpus"],
        ["EsmcFeaturePlatform.Grains"] = ["EsmcFeaturePlatform.Abstractions", "EsmcFeaturePlatform.Corpus"],
        ["EsmcFeaturePlatform.GraphQL"] = ["EsmcFeaturePlatform.Abstractions"],
        // Screening (IScreeningPolicy's implementation): grains and the API see only the port.
        ["EsmcFeaturePlatform.Safety"] = ["EsmcFeaturePlatform.Abstractions", "EsmcFeaturePlatform.Corpus"],
        ["EsmcFeaturePlatform.Web"] = [],   // the web page: static files, a client of the GraphQL API over HTTP
    };

    [Fact]
    public void Every_source_project_references_only_what_its_layer_allows()
    {
        var projects = SourceProjects();
        Assert.NotEmpty(projects);
        var violations = new List<string>();
        foreach (var (name, references) in projects)
        {
            if (Hosts.Contains(name)) continue;
            Assert.True(Allowed.TryGetValue(name, out var allowed), $"{name} is a new project: add it to the dependency rules in {nameof(DependencyRuleTests)}.");
            violations.AddRange(references.Where(r => !allowed.Contains(r)).Select(r => $"{name} -> {r}"));
        }
        Assert.True(violations.Count == 0, "Dependency arrows must point inward; wrong references: " + string.Join(", ", violations));
    }

    [Fact]
    public void Only_hosts_reference_implementations_and_TorchSharp()
    {
        foreach (var (name, references) in SourceProjects())
        {
            if (Hosts.Contains(name)) continue;
            Assert.DoesNotContain(references, r => Implementations.Contains(r));
            var packages = XDocument.Load(ProjectPath(name)).Descendants("PackageReference").Select(p => (string?)p.Attribute("Include") ?? "");
            if (name != "EsmcFeaturePlatform.Inference.TorchSharp")
                Assert.DoesNotContain(packages, p => p.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || p.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase));
        }
    }

    private static string ProjectPath(string name) => Path.Combine(RepositoryFiles.Root(), "src", name, name + ".csproj");

    private static Dictionary<string, string[]> SourceProjects() =>
        Directory.GetDirectories(Path.Combine(RepositoryFiles.Root(), "src"))
            .Select(Path.GetFileName)
            .Where(n => n is not null && File.Exists(ProjectPath(n)))
            .ToDictionary(n => n!, n => XDocument.Load(ProjectPath(n!)).Descendants("ProjectReference")
                .Select(r => Path.GetFileNameWithoutExtension(((string?)r.Attribute("Include") ?? "").Replace('\\', '/')))
                .ToArray());
}
