using System.Text.RegularExpressions;

namespace EsmcFeaturePlatform.Core.Tests.Architecture;

/// <summary>
/// Every document a comment cites is in this repository (docs/architecture.md, section 3, rule 10): a reader of the
/// code must be able to open what a comment points at, on a machine that has nothing but the checkout. These tests
/// read the real source files, so a citation of a missing or outside document fails here rather than in review.
/// </summary>
public sealed partial class DocumentReferenceTests
{
    // .ci holds the CI script; its comments count as much as the code's.
    private static readonly string[] CodeFolders = ["src", "tests", ".ci"];

    // Text the platform's own files are written in; fixtures in binary formats (parquet, gzip) are not read.
    private static readonly HashSet<string> TextExtensions = new(StringComparer.OrdinalIgnoreCase)
        { ".cs", ".js", ".mjs", ".html", ".css", ".json", ".md", ".txt", ".csproj", ".props", ".targets", ".yml", ".yaml", ".sh", ".sdl", "" };

    [Fact]
    public void Every_document_cited_in_a_comment_exists_in_the_repository()
    {
        var root = RepositoryFiles.Root();
        var citations = 0;
        var missing = new List<string>();
        foreach (var file in SourceFiles())
        {
            foreach (var (line, text) in Comments(file))
            {
                foreach (Match match in DocumentName().Matches(text))
                {
                    citations++;
                    if (!Resolves(root, file, match.Value))
                        missing.Add($"{RepositoryFiles.Relative(file)}:{line}: {match.Value}");
                }
            }
        }
        // The code cites docs/model-math.md and docs/contracts.md dozens of times: finding none means the scan is broken.
        Assert.True(citations > 10, $"Only {citations} document citations found in comments; the comment scan is not reading the sources.");
        Assert.True(missing.Count == 0,
            "Comments cite documents that are not in the repository (write them under docs/ or cite the file that exists):\n" + string.Join("\n", missing));
    }

    [Fact]
    public void Nothing_in_src_tests_or_ci_points_outside_the_repository()
    {
        var offending = new List<string>();
        foreach (var file in SourceFiles())
        {
            if (!TextExtensions.Contains(Path.GetExtension(file))) continue;
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
                if (OutsideReference().IsMatch(lines[i])) offending.Add($"{RepositoryFiles.Relative(file)}:{i + 1}: {lines[i].Trim()}");
        }
        Assert.True(offending.Count == 0, "The project must build, run and test from its own checkout; these lines reach outside it:\n" + string.Join("\n", offending));
    }

    [Fact]
    public void The_comment_scan_finds_comments_and_skips_strings()
    {
        var source = string.Join('\n',
            "var url = \"http://host/see-other.md\"; // cites docs/one.md",
            "var raw = \"\"\"",
            "    /* not a comment: other.md */",
            "    \"\"\";",
            "var c = '/'; /* cites",
            "   docs/two.md */");
        var found = CommentsOf(source, ".cs").Select(c => (c.Line, DocumentName().Match(c.Text).Value)).Where(c => c.Value.Length > 0).ToArray();
        Assert.Equal([(1, "docs/one.md"), (5, "docs/two.md")], found);
    }

    private static IEnumerable<string> SourceFiles() =>
        CodeFolders.SelectMany(RepositoryFiles.Under).Where(f => !RepositoryFiles.Relative(f).StartsWith("tests/fixtures/", StringComparison.Ordinal));

    /// <summary>
    /// A path with a folder resolves from the repository root or from the citing file's folder; a bare name
    /// (<c>BENCHMARKS.md</c>) from the root, from <c>docs/</c> or from the citing file's folder.
    /// </summary>
    private static bool Resolves(string root, string citingFile, string cited)
    {
        var here = Path.GetDirectoryName(citingFile)!;
        var candidates = cited.Contains('/', StringComparison.Ordinal)
            ? new[] { Path.Combine(root, cited), Path.Combine(here, cited) }
            : new[] { Path.Combine(root, cited), Path.Combine(root, "docs", cited), Path.Combine(here, cited) };
        return candidates.Any(File.Exists);
    }

    private static IEnumerable<(int Line, string Text)> Comments(string file)
    {
        var extension = Path.GetExtension(file);
        if (extension is ".cs" or ".js" or ".mjs" or ".css") return CommentsOf(File.ReadAllText(file), extension);
        if (extension is ".sh" or ".yml" or ".yaml" or "") return HashComments(File.ReadAllLines(file));
        return [];
    }

    /// <summary>
    /// The comments of C#, JavaScript or CSS text with the line each starts on. String, character and template
    /// literals are skipped, so a URL or a file name in a string is never taken for a citation.
    /// </summary>
    internal static List<(int Line, string Text)> CommentsOf(string text, string extension)
    {
        var comments = new List<(int, string)>();
        var line = 1;
        var i = 0;
        void Advance(int to)
        {
            for (; i < to && i < text.Length; i++)
                if (text[i] == '\n') line++;
        }
        while (i < text.Length)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                var end = text.IndexOf('\n', i);
                if (end < 0) end = text.Length;
                comments.Add((line, text[i..end]));
                Advance(end);
            }
            else if (c == '/' && next == '*')
            {
                var end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? text.Length : end + 2;
                comments.Add((line, text[i..end]));
                Advance(end);
            }
            else if (c == '"' && extension == ".cs" && text.AsSpan(i).StartsWith("\"\"\""))
            {
                var quotes = 0;
                while (i + quotes < text.Length && text[i + quotes] == '"') quotes++;
                var end = text.IndexOf(new string('"', quotes), i + quotes, StringComparison.Ordinal);
                Advance(end < 0 ? text.Length : end + quotes);
            }
            else if (c == '"' && extension == ".cs" && i > 0 && (text[i - 1] == '@' || (text[i - 1] == '$' && i > 1 && text[i - 2] == '@')))
            {
                // Verbatim: "" is a quote, and there are no backslash escapes.
                var j = i + 1;
                while (j < text.Length && !(text[j] == '"' && (j + 1 >= text.Length || text[j + 1] != '"'))) j += text[j] == '"' ? 2 : 1;
                Advance(j + 1);
            }
            else if (c is '"' or '\'' || (c == '`' && extension is ".js" or ".mjs"))
            {
                var j = i + 1;
                while (j < text.Length && text[j] != c && (c == '`' || text[j] != '\n')) j += text[j] == '\\' ? 2 : 1;
                Advance(j + 1);
            }
            else
            {
                Advance(i + 1);
            }
        }
        return comments;
    }

    private static IEnumerable<(int Line, string Text)> HashComments(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var at = lines[i].IndexOf('#', StringComparison.Ordinal);
            if (at == 0 || (at > 0 && char.IsWhiteSpace(lines[i][at - 1]))) yield return (i + 1, lines[i][at..]);
        }
    }

    /// <summary>A Markdown document: a path such as <c>docs/contracts.md</c> (optionally starting with <c>./</c> or <c>../</c>) or a bare name such as <c>BENCHMARKS.md</c>.</summary>
    [GeneratedRegex(@"(?<![\w./-])(?:\.{1,2}/)*[\w-]+(?:/[\w.-]+)*\.md\b")]
    private static partial Regex DocumentName();

    /// <summary>The folder named shared beside the checkout (reference material the project must never need), with either separator.</summary>
    [GeneratedRegex(@"\.\.[/\\]+shared\b")]
    private static partial Regex OutsideReference();
}
