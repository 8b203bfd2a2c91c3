using System.Globalization;
using System.Text;

namespace EsmcFeaturePlatform.Cli.CommandLine;

/// <summary>A bad command line: printed with a pointer to --help, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>One option: <c>--name VALUE</c>, or a flag when <see cref="ValueName"/> is null.</summary>
/// <remarks><see cref="Repeatable"/> options may be given several times (<c>--include A --include B</c>).</remarks>
public sealed record OptionSpec(string Name, string? ValueName, string Description, bool Required = false, string? Default = null, bool Repeatable = false)
{
    public bool IsFlag => ValueName is null;
}

/// <summary>
/// A command's options and help text. The parser is deliberately small: GNU-style long options only
/// (<c>--name value</c> or <c>--name=value</c>), every option at most once unless it is repeatable, and at most one
/// positional argument, for the commands that name one (<paramref name="positional"/>, e.g. <c>pull REPO_ID</c>).
/// </summary>
public sealed class CommandSpec(string name, string summary, string details, IReadOnlyList<OptionSpec> options, string? positional = null)
{
    public string Name { get; } = name;
    public string Summary { get; } = summary;
    public IReadOnlyList<OptionSpec> Options { get; } = options;

    public static bool IsHelpRequest(IEnumerable<string> args) => args.Any(a => a is "--help" or "-h" or "-?");

    public ParsedArguments Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var repeated = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string? argument = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (positional is not null && argument is null && !arg.StartsWith('-'))
            {
                argument = arg;
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException($"unexpected argument '{arg}' for '{Name}' (options start with --)");
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var optionName = eq < 0 ? arg[2..] : arg[2..eq];
            var option = Options.FirstOrDefault(o => o.Name == optionName)
                ?? throw new UsageException($"unknown option '--{optionName}' for '{Name}'");
            if (!option.Repeatable && (values.ContainsKey(option.Name) || flags.Contains(option.Name)))
                throw new UsageException($"option '--{option.Name}' is given more than once");
            if (option.IsFlag)
            {
                if (eq >= 0) throw new UsageException($"option '--{option.Name}' is a flag and takes no value");
                flags.Add(option.Name);
                continue;
            }
            string value;
            if (eq >= 0) value = arg[(eq + 1)..];
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
            else throw new UsageException($"option '--{option.Name}' needs a value ({option.ValueName})");
            if (value.Length == 0) throw new UsageException($"option '--{option.Name}' needs a non-empty value ({option.ValueName})");
            if (option.Repeatable)
            {
                if (!repeated.TryGetValue(option.Name, out var list)) repeated[option.Name] = list = [];
                list.Add(value);
                continue;
            }
            values[option.Name] = value;
        }
        if (positional is not null && argument is null)
            throw new UsageException($"missing {positional} (esmc {Name} {positional} [OPTIONS])");
        foreach (var required in Options.Where(o => o.Required && !values.ContainsKey(o.Name) && !repeated.ContainsKey(o.Name)))
            throw new UsageException($"missing required option '--{required.Name} {required.ValueName}'");
        return new ParsedArguments(values, flags, repeated, argument);
    }

    public string Help()
    {
        var text = new StringBuilder();
        var usage = string.Join(' ', Options.Select(o =>
        {
            var part = o.IsFlag ? $"--{o.Name}" : $"--{o.Name} {o.ValueName}";
            return (o.Required ? part : $"[{part}]") + (o.Repeatable ? "..." : "");
        }));
        text.Append("Usage: esmc ").Append(Name).Append(' ');
        if (positional is not null) text.Append(positional).Append(' ');
        text.AppendLine(usage).AppendLine();
        text.AppendLine(Summary);
        if (details.Length > 0) text.AppendLine().AppendLine(details.TrimEnd());
        text.AppendLine().AppendLine("Options:");
        var width = Options.Max(o => OptionLabel(o).Length) + 2;
        foreach (var option in Options)
        {
            var description = option.Description;
            if (option.Required) description += " Required.";
            if (option.Default is not null) description += $" Default: {option.Default}.";
            text.Append("  ").Append(OptionLabel(option).PadRight(width)).AppendLine(description);
        }
        text.Append("  ").Append("--help".PadRight(width)).AppendLine("Show this help.");
        return text.ToString();
    }

    private static string OptionLabel(OptionSpec o) => o.IsFlag ? $"--{o.Name}" : $"--{o.Name} {o.ValueName}";
}

public sealed class ParsedArguments(
    IReadOnlyDictionary<string, string> values, IReadOnlySet<string> flags, IReadOnlyDictionary<string, List<string>>? repeated = null, string? positional = null)
{
    /// <summary>The positional argument of a command that takes one.</summary>
    public string? Positional => positional;

    /// <summary>Every value of a repeatable option, in command-line order (empty when not given).</summary>
    public IReadOnlyList<string> Values(string name) => repeated is not null && repeated.TryGetValue(name, out var list) ? list : [];

    public bool Flag(string name) => flags.Contains(name);

    public string? Value(string name) => values.GetValueOrDefault(name);

    public string Required(string name) => values.TryGetValue(name, out var v) ? v : throw new UsageException($"missing required option '--{name}'");

    public int? Int(string name, int min, int max)
    {
        if (!values.TryGetValue(name, out var text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new UsageException($"option '--{name}' must be a whole number from {min} to {max}; got '{text}'");
        return value;
    }
}
