namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The one way an error message quotes what the caller sent: at most <see cref="MaxChars"/> characters, control and
/// non-ASCII characters escaped, quotes escaped, and the full length said when cut. A message therefore never echoes a
/// request back (a 100 KB sequence, a 260 KB query) nor breaks a log line.
/// </summary>
public static class InputExcerpt
{
    /// <summary>The most characters of the input an excerpt keeps.</summary>
    public const int MaxChars = 40;

    /// <summary>Longest message an answer carries; longer ones (from libraries) are cut to this.</summary>
    public const int MaxMessageChars = 400;

    /// <summary><c>'abc'</c>, or <c>'abcdef...' (12345 characters)</c>; <c>null</c> for null.</summary>
    public static string Quote(string? input, int maxChars = MaxChars)
    {
        if (input is null) return "null";
        var builder = new System.Text.StringBuilder(maxChars + 24).Append('\'');
        var shown = Math.Min(input.Length, maxChars);
        for (var i = 0; i < shown; i++)
        {
            var c = input[i];
            if (c is '\'' or '\\') builder.Append('\\').Append(c);
            else if (c < ' ' || c > '~') builder.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        builder.Append('\'');
        if (input.Length > shown) builder.Insert(builder.Length - 1, "...").Append(" (").Append(input.Length).Append(" characters)");
        return builder.ToString();
    }

    /// <summary>A message cut to <see cref="MaxMessageChars"/> (the safety net for messages written by libraries).</summary>
    public static string Bound(string message) =>
        message.Length <= MaxMessageChars ? message : message[..MaxMessageChars] + "... (message cut)";
}
