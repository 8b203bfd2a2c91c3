using System.Runtime.CompilerServices;
using System.Text;

namespace EsmcFeaturePlatform.Corpus;

/// <summary>
/// FASTA: '&gt;id description' headers, sequences over any number of lines, blank lines allowed anywhere.
/// White space inside sequence lines is dropped (as Biopython does); every other character is kept as written,
/// because which residue letters are valid is the tokenizer's rule, not the file format's.
/// </summary>
internal static class FastaParser
{
    public static async IAsyncEnumerable<ProteinRecord> ParseAsync(
        LineSource lines, CorpusReadOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seenIds = options.AllowDuplicateIds ? null : new Dictionary<string, long>(StringComparer.Ordinal);
        var recordNumber = 0;
        var sequence = new StringBuilder();
        var line = await lines.ReadAsync(cancellationToken).ConfigureAwait(false);

        while (line is not null)
        {
            // The caller has checked that the first non-blank line is a header; later ones start each loop.
            if (string.IsNullOrWhiteSpace(line))
            {
                line = await lines.ReadAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            recordNumber++;
            var headerLine = lines.LineNumber;
            var (id, description) = ParseHeader(line);
            sequence.Clear();
            while ((line = await lines.ReadAsync(cancellationToken).ConfigureAwait(false)) is not null && !line.StartsWith('>'))
            {
                foreach (var c in line)
                    if (!char.IsWhiteSpace(c)) sequence.Append(c);
            }

            CorpusFormatException? problem = null;
            if (id.Length == 0)
                problem = lines.Error(null, $"FASTA record {recordNumber} has an empty id (nothing after '>')", true, headerLine);
            else if (sequence.Length == 0)
                problem = lines.Error(id, "has no sequence", true, headerLine);
            else if (seenIds is not null && !seenIds.TryAdd(id, headerLine))
                problem = lines.Error(id, $"duplicate id (first seen at line {seenIds[id]})", true, headerLine);

            if (problem is not null)
            {
                if (options.OnInvalidRecord is null) throw problem;
                options.OnInvalidRecord(problem);
                continue;
            }

            yield return new ProteinRecord(id, sequence.ToString(), description, [], [], recordNumber);
        }
    }

    private static (string Id, string? Description) ParseHeader(string header)
    {
        var text = header.AsSpan(1).Trim();
        var split = text.IndexOfAny(' ', '\t');
        if (split < 0) return (text.ToString(), null);
        var description = text[(split + 1)..].Trim();
        return (text[..split].ToString(), description.IsEmpty ? null : description.ToString());
    }
}
