using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using Xunit;
using static EsmcFeaturePlatform.Inference.Tests.Inference.InferenceFixtures;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

public sealed class TokenizerTests
{
    [Fact]
    public void Every_golden_tokenizer_case_and_sequence_tokenizes_exactly()
    {
        var cases = Golden.GetProperty("tokenizer_cases").EnumerateArray().ToList();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            var input = c.GetProperty("input").GetString()!;
            Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()), EsmcTokenizer.Tokenize(input).Ids);
        }
        foreach (var s in Sequences)
            Assert.Equal(s.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()), EsmcTokenizer.Tokenize(s.GetProperty("sequence").GetString()!).Ids);
    }

    [Fact]
    public void The_input_rule_accepts_exactly_the_single_character_vocabulary_and_counts_unknowns_like_the_tokenizer()
    {
        var singles = Enumerable.Range(0, EsmcTokenizer.VocabularySize).Select(EsmcTokenizer.TokenText).Where(t => t.Length == 1);
        Assert.Equal(singles.OrderBy(t => t, StringComparer.Ordinal), ProteinSequenceInput.Alphabet.Select(c => c.ToString()).OrderBy(t => t, StringComparer.Ordinal));
        foreach (var text in new[] { "mk T*J", "MXBZUOKL", "A<unk>C", "<mask>ab<cls>|x", "<ma", "é\u0001" })
            Assert.Equal(EsmcTokenizer.Tokenize(text).UnknownTokens, ProteinSequenceInput.Prepare(text, "s", strict: false).UnknownTokens);
    }

    [Fact]
    public void Unknown_tokens_are_counted_per_character()
    {
        // Lowercase, space, '*' and 'J' are outside the vocabulary: one <unk> each; X/B/Z/U/O are real tokens.
        Assert.Equal(5, EsmcTokenizer.Tokenize("mk T*J").UnknownTokens);
        Assert.Equal(0, EsmcTokenizer.Tokenize("MXBZUOKL").UnknownTokens);
        Assert.Equal(1, EsmcTokenizer.Tokenize("A<unk>C").UnknownTokens);
    }

    [Fact]
    public void Sae_input_rules_refuse_empty_overlong_and_masked_sequences_naming_them()
    {
        var empty = Assert.Throws<InvalidSequenceException>(() => EsmcTokenizer.TokenizeForSae("", 2048, "'q7'"));
        Assert.Contains("'q7'", empty.Message);
        Assert.Contains("empty", empty.Message);

        var fits = EsmcTokenizer.TokenizeForSae(new string('A', 8), 10, "'ok'");
        Assert.Equal(10, fits.TokenCount);
        var tooLong = Assert.Throws<InvalidSequenceException>(() => EsmcTokenizer.TokenizeForSae(new string('A', 9), 10, "'long'"));
        Assert.Contains("'long'", tooLong.Message);
        Assert.Contains("10", tooLong.Message);

        var masked = Assert.Throws<InvalidSequenceException>(() => EsmcTokenizer.TokenizeForSae("AC<mask>D", 2048, "'m'"));
        Assert.Contains("<mask>", masked.Message);
        Assert.Contains("'m'", masked.Message);
    }

    [Fact]
    public void Non_ascii_characters_become_unknown_tokens()
    {
        var tokens = EsmcTokenizer.Tokenize("Aé\u4e00");
        Assert.Equal([0L, 5, 3, 3, 2], tokens.Ids);
        Assert.Equal(2, tokens.UnknownTokens);
    }
}
