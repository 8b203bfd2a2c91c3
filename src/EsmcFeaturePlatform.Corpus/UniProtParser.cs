using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;

namespace EsmcFeaturePlatform.Corpus;

/// <summary>
/// UniProtKB flat files (Swiss-Prot/TrEMBL .dat/.txt): ID, AC, DE, KW, FT and the SQ block, each entry ending with
/// "//". Both feature-table styles are understood: the pre-2019 column style (<c>FT   TYPE  start  end  note</c>
/// with continuation lines) and the current one (<c>FT   TYPE  start..end</c> with <c>/note="..."</c> qualifiers).
/// Features whose location is unknown (<c>?</c>), lies on another sequence (<c>P12345-2:10..20</c>) or falls outside
/// the sequence are left out rather than guessed; uncertain bounds (<c>&lt;1</c>, <c>&gt;35</c>, <c>?12</c>) keep their number.
/// </summary>
internal static partial class UniProtParser
{
    public static async IAsyncEnumerable<ProteinRecord> ParseAsync(
        LineSource lines, CorpusReadOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seenIds = options.AllowDuplicateIds ? null : new Dictionary<string, long>(StringComparer.Ordinal);
        var recordNumber = 0;
        EntryBuilder? entry = null;

        string? line;
        while ((line = await lines.ReadAsync(cancellationToken).ConfigureAwait(false)) is not null)
        {
            if (entry is null)
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                if (!line.StartsWith("ID   ", StringComparison.Ordinal))
                    throw lines.Error(null, $"expected a UniProt 'ID' line to start an entry, found {lines.Preview(line)}");
                recordNumber++;
                entry = new EntryBuilder(lines.LineNumber, recordNumber, line[5..].Trim().Split(' ', 2)[0]);
                continue;
            }

            if (line.StartsWith("//", StringComparison.Ordinal))
            {
                var (record, problem) = entry.Build(lines, seenIds);
                entry = null;
                if (problem is not null)
                {
                    if (options.OnInvalidRecord is null) throw problem;
                    options.OnInvalidRecord(problem);
                    continue;
                }
                yield return record!;
                continue;
            }

            entry.Accept(line, lines);
        }

        if (entry is not null)
            throw lines.Error(entry.DisplayId,
                $"the file ends inside the entry that starts at line {entry.StartLine} (no closing '//'; truncated file?)");
    }

    private sealed class EntryBuilder(long startLine, int recordNumber, string entryName)
    {
        private readonly List<string> _accessions = [];
        private readonly StringBuilder _description = new();
        private readonly StringBuilder _keywords = new();
        private readonly StringBuilder _sequence = new();
        private readonly List<FeatureBuilder> _features = [];
        private int? _declaredLength;
        private bool _inSequence;

        public long StartLine { get; } = startLine;

        public string DisplayId => _accessions.Count > 0 ? _accessions[0] : entryName;

        public void Accept(string line, LineSource lines)
        {
            if (_inSequence && line.StartsWith("     ", StringComparison.Ordinal))
            {
                foreach (var c in line)
                    if (char.IsLetter(c)) _sequence.Append(c);
                return;
            }
            if (line.StartsWith("ID   ", StringComparison.Ordinal))
                throw lines.Error(DisplayId, $"a new 'ID' line starts before the entry that began at line {StartLine} was closed with '//'");

            var code = line.Length >= 2 ? line[..2] : line;
            var content = line.Length > 5 ? line[5..] : "";
            switch (code)
            {
                case "AC":
                    foreach (var accession in content.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        _accessions.Add(accession);
                    break;
                case "DE":
                    _description.Append(content.Trim()).Append(' ');
                    break;
                case "KW":
                    _keywords.Append(content.Trim()).Append(' ');
                    break;
                case "FT":
                    AcceptFeatureLine(content);
                    break;
                case "SQ":
                    var match = SequenceHeader().Match(content);
                    if (!match.Success)
                        throw lines.Error(DisplayId, $"malformed SQ line {lines.Preview(line)} (expected 'SQ   SEQUENCE   N AA; ...')");
                    _declaredLength = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                    _inSequence = true;
                    break;
            }
        }

        private void AcceptFeatureLine(string content)
        {
            if (content.Length > 0 && content[0] != ' ')
            {
                var parts = content.Split((char[]?)null, 4, StringSplitOptions.RemoveEmptyEntries);
                var feature = new FeatureBuilder(parts[0]);
                if (parts.Length >= 2 && parts[1].Contains("..", StringComparison.Ordinal))
                {
                    feature.SetLocation(parts[1]);
                }
                else if (parts.Length >= 3 && LooksLikePosition(parts[2]))
                {
                    feature.SetLocation(parts[1], parts[2]);
                    if (parts.Length == 4) feature.AppendNote(parts[3]);
                }
                else if (parts.Length >= 2)
                {
                    feature.SetLocation(parts[1]);
                    if (parts.Length >= 3) feature.AppendNote(string.Join(' ', parts[2..]));
                }
                _features.Add(feature);
                return;
            }
            if (_features.Count > 0)
                _features[^1].AcceptContinuation(content.Trim());
        }

        public (ProteinRecord? Record, CorpusFormatException? Problem) Build(LineSource lines, Dictionary<string, long>? seenIds)
        {
            var id = DisplayId;
            if (id.Length == 0)
                return (null, lines.Error(null, $"the entry starting at line {StartLine} has neither an accession nor an entry name", true, StartLine));
            if (_sequence.Length == 0)
                return (null, lines.Error(id, "has no sequence (missing or empty SQ block)", true));
            if (_declaredLength is { } declared && declared != _sequence.Length)
                return (null, lines.Error(id, $"the SQ line declares {declared} residues but the sequence block holds {_sequence.Length}", true));
            if (seenIds is not null && !seenIds.TryAdd(id, StartLine))
                return (null, lines.Error(id, $"duplicate accession (first seen in the entry at line {seenIds[id]})", true, StartLine));

            var length = _sequence.Length;
            var annotations = _features
                .Select(f => f.Build())
                .Where(a => a is not null && a.Start >= 1 && a.End >= a.Start && a.End <= length)
                .Select(a => a!)
                .ToList();
            var keywords = _keywords.ToString()
                .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(k => StripEvidence(k).TrimEnd('.').Trim())
                .Where(k => k.Length > 0)
                .ToList();
            return (new ProteinRecord(id, _sequence.ToString(), ParseDescription(_description.ToString()), annotations, keywords, recordNumber), null);
        }

        private static bool LooksLikePosition(string token) => token.TrimStart('<', '>', '?').All(char.IsAsciiDigit) || token == "?";
    }

    private sealed class FeatureBuilder(string type)
    {
        private readonly StringBuilder _note = new();
        private string? _start;
        private string? _end;
        private string? _openQualifier;

        public void SetLocation(string location)
        {
            var range = location.Split("..", 2);
            _start = range[0];
            _end = range.Length == 2 ? range[1] : range[0];
        }

        public void SetLocation(string start, string end)
        {
            _start = start;
            _end = end;
        }

        public void AppendNote(string text)
        {
            if (_note.Length > 0 && text.Length > 0) _note.Append(' ');
            _note.Append(text);
        }

        public void AcceptContinuation(string text)
        {
            if (_openQualifier is not null)
            {
                var closes = text.EndsWith('"');
                if (_openQualifier == "note") AppendNote(closes ? text[..^1] : text);
                if (closes) _openQualifier = null;
                return;
            }
            if (text.StartsWith('/'))
            {
                var eq = text.IndexOf('=', StringComparison.Ordinal);
                var name = (eq < 0 ? text[1..] : text[1..eq]).ToLowerInvariant();
                var value = eq < 0 ? "" : text[(eq + 1)..];
                if (value.StartsWith('"'))
                {
                    value = value[1..];
                    if (value.EndsWith('"')) value = value[..^1];
                    else _openQualifier = name;
                }
                if (name == "note") AppendNote(value);
                return;
            }
            AppendNote(text);
        }

        public SequenceAnnotation? Build()
        {
            // A location on another sequence (isoform "P12345-2:10..20") or a wholly unknown bound cannot be placed.
            if (_start is null || _end is null || _start.Contains(':', StringComparison.Ordinal)) return null;
            if (ParseBound(_start) is not { } start || ParseBound(_end) is not { } end) return null;
            var note = StripEvidence(_note.ToString()).Trim();
            return new SequenceAnnotation(type, start, end, note.Length == 0 ? null : note);
        }

        private static int? ParseBound(string token)
        {
            var digits = token.TrimStart('<', '>', '?');
            return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
    }

    private static string? ParseDescription(string deText)
    {
        foreach (var prefix in new[] { "RecName: Full=", "SubName: Full=" })
        {
            var at = deText.IndexOf(prefix, StringComparison.Ordinal);
            if (at < 0) continue;
            var start = at + prefix.Length;
            var end = deText.IndexOf(';', start);
            var name = StripEvidence(end < 0 ? deText[start..] : deText[start..end]).Trim();
            if (name.Length > 0) return name;
        }
        var all = deText.Trim();
        return all.Length == 0 ? null : all;
    }

    private static string StripEvidence(string text) => EvidenceTag().Replace(text, "");

    [GeneratedRegex(@"^SEQUENCE\s+(\d+)\s+AA;")]
    private static partial Regex SequenceHeader();

    [GeneratedRegex(@"\s*\{ECO:[^}]*\}")]
    private static partial Regex EvidenceTag();
}
