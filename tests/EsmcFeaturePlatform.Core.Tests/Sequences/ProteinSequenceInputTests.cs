using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Core.Tests.Sequences;

public sealed class ProteinSequenceInputTests
{
    [Theory]
    [InlineData("mktayiak", "MKTAYIAK")]
    [InlineData("MKTA YIAK", "MKTAYIAK")]
    [InlineData("MKTA\nYIAK\r\n", "MKTAYIAK")]
    [InlineData("  MKTAYIAK*  ", "MKTAYIAK")]
    [InlineData("MKTXBZUO.-|AAA", "MKTXBZUO.-|AAA")]
    [InlineData("mkt|ayi", "MKT|AYI")]
    public void Strict_mode_folds_case_removes_white_space_and_one_trailing_stop(string text, string expected)
    {
        var prepared = ProteinSequenceInput.Prepare(text, "the sequence");
        Assert.Equal(expected, prepared.Residues);
        Assert.Equal(0, prepared.UnknownTokens);
        Assert.Empty(prepared.Warnings);
    }

    [Theory]
    [InlineData("MKT1AYIAK", "'1'", 4)]
    [InlineData("MK*TAYIAK", "'*'", 3)]
    [InlineData("MKTAYIAK**", "'*'", 9)]
    [InlineData("MK TJ", "'J'", 5)]
    [InlineData("MK<mask>A", "'<'", 3)]
    [InlineData("MKé", "U+00E9", 3)]
    public void Strict_mode_names_the_first_bad_character_its_position_and_the_record(string text, string shown, int position)
    {
        var error = Assert.Throws<InvalidSequenceException>(() => ProteinSequenceInput.Prepare(text, "record P1"));
        Assert.Contains($"Record P1 has the character {shown} at position {position}", error.Message);
        Assert.Contains("strict: false", error.Message);
    }

    [Theory]
    [InlineData(">sp|P1|X\nMKT")]
    [InlineData("  >P1 MKT")]
    public void Fasta_text_is_refused_with_a_pointer_to_the_fasta_entry_points(string text)
    {
        var error = Assert.Throws<InvalidSequenceException>(() => ProteinSequenceInput.Prepare(text, "the sequence"));
        Assert.Contains("this looks like FASTA", error.Message);
        Assert.Contains("indexCorpus", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("  \n ")]
    [InlineData("*")]
    public void Empty_input_is_refused(string? text) =>
        Assert.Throws<InvalidSequenceException>(() => ProteinSequenceInput.Prepare(text, "the sequence"));

    [Fact]
    public void Reference_mode_passes_the_text_unchanged_and_counts_unknown_tokens_as_the_tokenizer_does()
    {
        var prepared = ProteinSequenceInput.Prepare("mkT1<unk><mask>A*", "the sequence", strict: false);
        Assert.Equal("mkT1<unk><mask>A*", prepared.Residues);
        // m, k, 1, the literal <unk> and * are <unk>; <mask> is its own token.
        Assert.Equal(5, prepared.UnknownTokens);
        Assert.Contains(prepared.Warnings, w => w.Contains("<unk>"));
    }

    [Theory]
    [InlineData("ACGTACGTACGTNNACGT")]
    [InlineData("acguacguacguacgu")]
    public void Nucleotide_looking_input_gets_a_warning_not_an_error(string text)
    {
        var prepared = ProteinSequenceInput.Prepare(text, "the sequence");
        Assert.Equal(text.ToUpperInvariant(), prepared.Residues);
        Assert.Contains(prepared.Warnings, w => w.Contains("nucleotide"));
    }

    [Fact]
    public void Short_or_mixed_sequences_get_no_nucleotide_warning()
    {
        Assert.Empty(ProteinSequenceInput.Prepare("ACGT", "s").Warnings);
        Assert.Empty(ProteinSequenceInput.Prepare("ACGTACGTACGTACGTK", "s").Warnings);
    }
}
