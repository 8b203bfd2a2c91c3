using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;

/// <summary>Token ids of one sequence, with &lt;cls&gt; first and &lt;eos&gt; last.</summary>
public sealed record TokenizedSequence(long[] Ids, int UnknownTokens, int MaskTokens)
{
    public int TokenCount => Ids.Length;

    /// <summary>Residues = tokens between &lt;cls&gt; and &lt;eos&gt;.</summary>
    public int ResidueCount => Ids.Length - 2;
}

/// <summary>
/// The ESMC character tokenizer, exactly as the reference builds it (docs/model-math.md, section 2.3): case sensitive,
/// no normalization, literal special strings matched first, anything else unknown becomes &lt;unk&gt;.
/// </summary>
public static class EsmcTokenizer
{
    public const int ClsId = 0;
    public const int PadId = 1;
    public const int EosId = 2;
    public const int UnkId = 3;
    public const int ChainBreakId = 31;
    public const int MaskId = 32;
    public const int VocabularySize = 33;

    /// <summary>Rows of the embedding table and LM-head output (ids 33..63 are never produced).</summary>
    public const int EmbeddingRows = 64;

    private static readonly string[] Vocabulary =
    [
        "<cls>", "<pad>", "<eos>", "<unk>",
        "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N", "F", "Y", "M", "H", "W", "C",
        "X", "B", "U", "Z", "O", ".", "-", "|", "<mask>",
    ];

    // Longest first, so that a literal is never split into shorter matches.
    private static readonly (string Literal, int Id)[] SpecialLiterals =
        new[] { "<mask>", "<cls>", "<pad>", "<eos>", "<unk>" }.Select(s => (s, Array.IndexOf(Vocabulary, s))).ToArray();

    private static readonly int[] CharacterIds = BuildCharacterIds();

    public static string TokenText(int id) => id >= 0 && id < Vocabulary.Length ? Vocabulary[id] : $"<id {id}>";

    /// <summary>The reference encoding (add_special_tokens=True); never fails, the empty string gives [cls, eos].</summary>
    public static TokenizedSequence Tokenize(string sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        var ids = new List<long>(sequence.Length + 2) { ClsId };
        int unknown = 0, masks = 0;
        var i = 0;
        while (i < sequence.Length)
        {
            var id = -1;
            if (sequence[i] == '<')
            {
                foreach (var (literal, literalId) in SpecialLiterals)
                {
                    if (string.CompareOrdinal(sequence, i, literal, 0, literal.Length) == 0)
                    {
                        id = literalId;
                        i += literal.Length;
                        break;
                    }
                }
            }
            if (id < 0)
            {
                var c = sequence[i];
                id = c < CharacterIds.Length ? CharacterIds[c] : UnkId;
                i++;
            }
            if (id == UnkId) unknown++;
            if (id == MaskId) masks++;
            ids.Add(id);
        }
        ids.Add(EosId);
        return new TokenizedSequence([.. ids], unknown, masks);
    }

    /// <summary>
    /// Tokenizes a sequence that will be fed to an SAE: refuses empty input, input longer than
    /// <paramref name="maxTokens"/> (counting &lt;cls&gt;/&lt;eos&gt;) and &lt;mask&gt; tokens (docs/model-math.md, section 3.8),
    /// with an <see cref="InvalidSequenceException"/> naming <paramref name="sequenceName"/>.
    /// </summary>
    public static TokenizedSequence TokenizeForSae(string? sequence, int maxTokens, string sequenceName) =>
        TokenizeForSae(sequence, new SequenceLengthLimit(maxTokens, $"{InferenceOptions.SectionName}:MaxTokens"), sequenceName);

    /// <summary>As above; the too-long error names <paramref name="limit"/>'s setting, so it says how to raise the limit.</summary>
    public static TokenizedSequence TokenizeForSae(string? sequence, SequenceLengthLimit limit, string sequenceName)
    {
        if (string.IsNullOrEmpty(sequence))
            throw new InvalidSequenceException($"Sequence {sequenceName} is empty.");
        var tokens = Tokenize(sequence);
        if (tokens.TokenCount > limit.MaxTokens)
            throw new InvalidSequenceException(limit.TooLongMessage($"Sequence {sequenceName}", tokens.ResidueCount));
        if (tokens.MaskTokens > 0)
            throw new InvalidSequenceException(
                $"Sequence {sequenceName} contains {tokens.MaskTokens} <mask> token(s); SAEs were trained on unmasked sequences, so masked input is refused.");
        return tokens;
    }

    private static int[] BuildCharacterIds()
    {
        var table = new int[128];
        Array.Fill(table, UnkId);
        for (var id = 0; id < Vocabulary.Length; id++)
            if (Vocabulary[id].Length == 1) table[Vocabulary[id][0]] = id;
        return table;
    }
}
