using System.Text;
using System.Text.RegularExpressions;

namespace EsmcFeaturePlatform.HuggingFace;

/// <summary>
/// Include patterns as huggingface_hub's <c>allow_patterns</c> treat them (Python fnmatch): <c>*</c> and <c>?</c>
/// match any character including '/', <c>[seq]</c> a character set, and a pattern ending in '/' means everything
/// under that folder. No pattern selects every file.
/// </summary>
public sealed class HubGlob
{
    private readonly Regex[] patterns;

    public HubGlob(IEnumerable<string> includes)
    {
        patterns = includes.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => new Regex(ToRegex(p.Trim()), RegexOptions.CultureInvariant)).ToArray();
    }

    public bool Selects(string path) => patterns.Length == 0 || patterns.Any(p => p.IsMatch(path));

    private static string ToRegex(string pattern)
    {
        if (pattern.EndsWith('/')) pattern += "*";
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*': regex.Append(".*"); break;
                case '?': regex.Append('.'); break;
                case '[':
                    var close = pattern.IndexOf(']', i + 2);
                    if (close < 0) { regex.Append(@"\["); break; }
                    var set = pattern[(i + 1)..close];
                    regex.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = close;
                    break;
                default: regex.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return regex.Append('$').ToString();
    }
}
