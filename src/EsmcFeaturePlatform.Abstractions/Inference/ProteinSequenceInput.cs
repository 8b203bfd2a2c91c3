using System.Text;

namespace EsmcFeaturePlatform.Abstractions;

/// <summary>A sequence ready for the tokenizer, with what the input rule noticed on the way.</summary>
/// <param name="Residues">What the tokenizer receives.</param>
/// <param name="UnknownTokens">Characters the tokenizer will map to &lt;unk&gt; (always 0 in strict mode).</param>
/// <param name="Warnings">Plain-language warnings for the caller (e.g. the input looks like DNA); never errors.</param>
public sealed record PreparedSequence(string Residues, int UnknownTokens, IReadOnlyList<string> Warnings);

/// <summary>
/// The one input rule for protein sequences, used by every entry point (GraphQL, REST, the web page through
/// GraphQL, indexing, the CLI) so that the same text gives the same features everywhere.
/// <para>Strict (the default): letters are upper-cased, white space anywhere (line breaks included) is removed,
/// one trailing <c>*</c> (a stop codon written by translation tools) is removed, and only the single-character
/// tokens of the ESMC vocabulary (<see cref="Alphabet"/>) are accepted; anything else is an
/// <see cref="InvalidSequenceException"/> naming the first bad character, its 1-based position in the text as
/// sent, and the record.</para>
/// <para>Reference (<c>strict: false</c>, CLI <c>--unknown-as-unk</c>): the text goes to the tokenizer unchanged,
/// exactly as Biohub's tokenizer sees it (case sensitive; unknown characters become &lt;unk&gt;), and the number of
/// &lt;unk&gt; tokens is reported, for parity with the reference.</para>
/// </summary>
public static class ProteinSequenceInput
{
    /// <summary>
    /// The single-character tokens of the ESMC vocabulary: the 20 standard amino acids, the ambiguity and rare
    /// codes X B U Z O, <c>.</c> and <c>-</c> (gap-like tokens the model knows) and the chain break <c>|</c>.
    /// Must equal the tokenizer's single-character vocabulary (a test in the inference tests checks it).
    /// </summary>
    public const string Alphabet = "LAGVSERTIDPKQNFYMHWCXBUZO.-|";

    // The tokenizer's multi-character literals, matched before single characters (docs/model-math.md, section 2.3).
    private static readonly string[] SpecialLiterals = ["<mask>", "<cls>", "<pad>", "<eos>", "<unk>"];

    private static readonly bool[] Accepted = BuildAccepted();

    /// <summary>Applies the rule. <paramref name="record"/> names the input in errors ("the sequence", "record P12345").</summary>
    public static PreparedSequence Prepare(string? text, string record, bool strict = true)
    {
        if (string.IsNullOrEmpty(text))
            throw new InvalidSequenceException($"{Capitalize(record)} is empty.");
        if (!strict)
        {
            var unknown = CountReferenceUnknowns(text);
            var warnings = new List<string>();
            if (unknown > 0)
                warnings.Add($"{unknown} character(s) of {record} are not in the ESMC vocabulary and were encoded as <unk> (strict: false).");
            AddNucleotideWarning(text, record, warnings);
            return new PreparedSequence(text, unknown, warnings);
        }

        var start = 0;
        while (start < text.Length && char.IsWhiteSpace(text[start])) start++;
        if (start < text.Length && text[start] == '>')
            throw new InvalidSequenceException(
                $"{Capitalize(record)} starts with '>': this looks like FASTA; send the sequence only, or use indexCorpus / esmc encode --fasta for FASTA files.");

        var end = text.Length;
        while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        if (end > start && text[end - 1] == '*') end--;   // one trailing stop codon

        var residues = new StringBuilder(end - start);
        for (var i = start; i < end; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) continue;
            var upper = c is >= 'a' and <= 'z' ? (char)(c - 32) : c;
            if (upper >= Accepted.Length || !Accepted[upper])
                throw new InvalidSequenceException(
                    $"{Capitalize(record)} has the character {Describe(c)} at position {i + 1}, which is not an amino-acid code of the ESMC vocabulary ({Alphabet}). " +
                    "Remove it, or send strict: false (CLI: --unknown-as-unk) to encode unknown characters as <unk> as the reference tokenizer does.");
            residues.Append(upper);
        }
        if (residues.Length == 0)
            throw new InvalidSequenceException($"{Capitalize(record)} has no residues (only white space or '*').");

        var prepared = residues.ToString();
        var notes = new List<string>();
        AddNucleotideWarning(prepared, record, notes);
        return new PreparedSequence(prepared, 0, notes);
    }

    // Only A, C, G, T/U and N (at least 10 of them): the caller probably pasted DNA or RNA. A, C, G and T are
    // also amino acids, so this is a warning, not an error.
    private static void AddNucleotideWarning(string text, string record, List<string> warnings)
    {
        var count = 0;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c)) continue;
            if (char.ToUpperInvariant(c) is not ('A' or 'C' or 'G' or 'T' or 'U' or 'N')) return;
            count++;
        }
        if (count >= 10)
            warnings.Add($"{Capitalize(record)} contains only A, C, G, T/U and N: it looks like a nucleotide sequence, not a protein. It was analyzed as a protein; translate it first if it is DNA or RNA.");
    }

    // The reference tokenizer's count of <unk>: literals first, then any character outside the vocabulary.
    private static int CountReferenceUnknowns(string text)
    {
        var unknown = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '<')
            {
                var literal = Array.Find(SpecialLiterals, s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
                if (literal is not null)
                {
                    if (literal == "<unk>") unknown++;
                    i += literal.Length;
                    continue;
                }
            }
            if (text[i] >= Accepted.Length || !Accepted[text[i]]) unknown++;
            i++;
        }
        return unknown;
    }

    private static string Describe(char c) =>
        char.IsControl(c) || c > '~' ? $"U+{(int)c:X4}" : $"'{c}'";

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static bool[] BuildAccepted()
    {
        var accepted = new bool[128];
        foreach (var c in Alphabet) accepted[c] = true;
        return accepted;
    }
}
