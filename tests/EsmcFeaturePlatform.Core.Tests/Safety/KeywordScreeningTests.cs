using EsmcFeaturePlatform.Safety;

namespace EsmcFeaturePlatform.Core.Tests.Safety;

public sealed class KeywordScreeningTests
{
    private static readonly KeywordList Names = KeywordList.Parse("# test list\nricin\nbotulinum neurotoxin   # a phrase\nT-2 toxin\n\nsaxitoxin\n", "test");

    [Theory]
    [InlineData("Ricin A-chain", "ricin")]
    [InlineData("ricins and abrins", "ricin")]
    [InlineData("RICIN", "ricin")]
    [InlineData("label:ricin", "ricin")]
    [InlineData("\"ricin\" OR kinase*", "ricin")]
    [InlineData("ricin*", "ricin")]
    [InlineData("ric?n", "ricin")]
    [InlineData("saxi*", "saxitoxin")]
    [InlineData("Botulinum-neurotoxins", "botulinum neurotoxin")]
    [InlineData("botulinum  neurotoxin type A", "botulinum neurotoxin")]
    [InlineData("botulinumneurotoxin", "botulinum neurotoxin")]
    [InlineData("T2 toxin", "T-2 toxin")]
    [InlineData("t-2-toxins", "T-2 toxin")]
    [InlineData("Saxitoxines", "saxitoxin")]
    [InlineData("s\u00e1xitoxin", "saxitoxin")]
    public void Names_match_on_whole_words_ignoring_case_spacing_hyphens_and_plurals(string text, string expected) =>
        Assert.Equal(expected, Names.FindFirst(text));

    [Theory]
    [InlineData("ricinoleic acid")]
    [InlineData("thioricin")]
    [InlineData("castor oil")]
    [InlineData("botulinum")]
    [InlineData("neurotoxin")]
    [InlineData("ric*")]
    [InlineData("")]
    [InlineData("zinc finger OR kinase*")]
    public void Other_words_do_not_match(string text) => Assert.Null(Names.FindFirst(text));

    [Fact]
    public void The_shipped_list_loads_and_names_select_agents_and_toxins()
    {
        var list = KeywordList.Default();
        Assert.True(list.Count > 100, $"only {list.Count} names");
        Assert.NotNull(list.FindFirst("Ricin A-chain"));
        Assert.NotNull(list.FindFirst("Bacillus anthracis lethal factor"));
        Assert.NotNull(list.FindFirst("botulinum neurotoxin type A light chain"));
        Assert.Null(list.FindFirst("ricinoleic acid"));
        Assert.Null(list.FindFirst("zinc finger"));
        Assert.Null(list.FindFirst("\"P-loop\" OR kinase* OR label:helix"));
    }

    [Fact]
    public void A_name_too_short_to_match_safely_is_refused_naming_the_line()
    {
        var error = Assert.Throws<InvalidDataException>(() => KeywordList.Parse("ricin\nab\n", "mylist.txt"));
        Assert.Contains("mylist.txt' line 2", error.Message);
    }
}
