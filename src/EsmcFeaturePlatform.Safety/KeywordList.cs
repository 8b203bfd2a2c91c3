using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EsmcFeaturePlatform.Safety;

/// <summary>
/// Names of regulated agents and toxins matched in free text on whole words, ignoring case, accents, spacing and
/// hyphens, with simple plurals: "ricin" matches "Ricin A-chain" and "ricins" but not "ricinoleic acid";
/// "botulinum neurotoxin" matches "Botulinum-neurotoxins" and "botulinumneurotoxin". Text and names are both
/// reduced to their letters and digits (lower case, accents removed), remembering where words start and end; a name
/// matches where its letters occur in the text starting at a word start and ending at a word end (or before a
/// plural "s"/"es" that ends the word). Search wildcards (<c>ric?n</c>, <c>botul*</c>) match a name when the
/// pattern, with at least four literal letters, could expand to one of its words.
/// </summary>
public sealed class KeywordList
{
    public const int MinWildcardLetters = 4;

    private readonly string[] _names;       // as written in the list
    private readonly string[] _compact;     // letters and digits only
    private readonly string[][] _words;     // each name's words, compact

    private KeywordList(IReadOnlyList<string> names)
    {
        _names = [.. names];
        _compact = [.. names.Select(n => Compact(n).Text)];
        _words = [.. names.Select(n => SplitWords(n))];
    }

    public int Count => _names.Length;

    public IReadOnlyList<string> Names => _names;

    /// <summary>One name or phrase per line; '#' starts a comment; blank lines are ignored. Names without letters are refused.</summary>
    public static KeywordList Parse(string text, string source)
    {
        var names = new List<string>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var hash = raw.IndexOf('#');
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0) continue;
            if (Compact(line).Text.Length < 3)
                throw new InvalidDataException($"Keyword list '{source}' line {number}: '{line}' has fewer than 3 letters or digits; such a short name would match too much. Remove it or write it out.");
            names.Add(line);
        }
        return new KeywordList(names.Distinct(StringComparer.OrdinalIgnoreCase).ToList());
    }

    public static KeywordList Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>The list the project ships (names from the US select agent and toxin list and the Australia Group lists).</summary>
    public static KeywordList Default()
    {
        using var stream = typeof(KeywordList).Assembly.GetManifestResourceStream("EsmcFeaturePlatform.Safety.default-keywords.txt")
            ?? throw new InvalidOperationException("The default keyword list is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "default-keywords.txt");
    }

    /// <summary>The first name the text contains (in list order), or null.</summary>
    public string? FindFirst(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || _names.Length == 0) return null;
        var compact = Compact(text);
        for (var n = 0; n < _names.Length; n++)
            if (Occurs(compact, _compact[n])) return _names[n];
        if (text.IndexOfAny(['*', '?']) >= 0)
            foreach (var pattern in WildcardWords(text))
                for (var n = 0; n < _names.Length; n++)
                    if (_words[n].Any(pattern.IsMatch)) return _names[n];
        return null;
    }

    private static bool Occurs(CompactText text, string name)
    {
        var from = 0;
        while (true)
        {
            var at = text.Text.IndexOf(name, from, StringComparison.Ordinal);
            if (at < 0) return false;
            var end = at + name.Length;   // exclusive
            if (text.WordStart[at] && (text.WordEnd[end - 1] || PluralEndsWord(text, end))) return true;
            from = at + 1;
        }
    }

    private static bool PluralEndsWord(CompactText text, int end)
    {
        var s = text.Text;
        if (end < s.Length && s[end] == 's' && text.WordEnd[end]) return true;
        return end + 1 < s.Length && s[end] == 'e' && s[end + 1] == 's' && text.WordEnd[end + 1];
    }

    private static IEnumerable<Regex> WildcardWords(string text)
    {
        // Words of a query are letters, digits and wildcards; anything else (spaces, "label:", quotes) separates them.
        foreach (var token in Fold(text).Split(c => !char.IsLetterOrDigit(c) && c is not ('*' or '?')))
        {
            if (token.IndexOfAny(['*', '?']) < 0) continue;
            var word = new StringBuilder();
            var letters = 0;
            foreach (var c in token)
            {
                if (c == '*') word.Append(".*");
                else if (c == '?') word.Append('.');
                else if (char.IsLetterOrDigit(c)) { word.Append(Regex.Escape(c.ToString())); letters++; }
            }
            if (letters >= MinWildcardLetters)
                yield return new Regex("^" + word + "$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
        }
    }

    private sealed record CompactText(string Text, bool[] WordStart, bool[] WordEnd);

    private static CompactText Compact(string text)
    {
        var folded = Fold(text);
        var builder = new StringBuilder(folded.Length);
        var starts = new List<bool>(folded.Length);
        var ends = new List<bool>(folded.Length);
        var inWord = false;
        foreach (var c in folded)
        {
            if (char.IsLetterOrDigit(c))
            {
                builder.Append(c);
                starts.Add(!inWord);
                ends.Add(false);
                inWord = true;
            }
            else
            {
                if (inWord) ends[^1] = true;
                inWord = false;
            }
        }
        if (inWord) ends[^1] = true;
        return new CompactText(builder.ToString(), [.. starts], [.. ends]);
    }

    private static string[] SplitWords(string name) =>
        [.. Fold(name).Split(c => !char.IsLetterOrDigit(c)).Where(w => w.Length > 0)];

    /// <summary>Lower case without accents (NFD, combining marks removed).</summary>
    private static string Fold(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) builder.Append(char.ToLowerInvariant(c));
        return builder.ToString();
    }
}

internal static class StringSplitExtensions
{
    public static IEnumerable<string> Split(this string text, Func<char, bool> isSeparator)
    {
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && !isSeparator(text[i])) continue;
            yield return text[start..i];
            start = i + 1;
        }
    }
}
