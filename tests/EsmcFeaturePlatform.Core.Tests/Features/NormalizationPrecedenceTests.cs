using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Core.Tests.Features;

public sealed class NormalizationPrecedenceTests
{
    private static Func<NormalizationSource, bool> Available(params NormalizationSource[] sources) => sources.Contains;

    [Fact]
    public void By_default_imported_statistics_come_first_then_real_checkpoint_statistics_then_the_corpus()
    {
        var all = Available(NormalizationSource.Imported, NormalizationSource.Checkpoint, NormalizationSource.Corpus);
        Assert.Equal(NormalizationSource.Imported, NormalizationPrecedence.InEffect(null, all));
        Assert.Equal(NormalizationSource.Checkpoint, NormalizationPrecedence.InEffect(null, Available(NormalizationSource.Checkpoint, NormalizationSource.Corpus)));
        Assert.Equal(NormalizationSource.Corpus, NormalizationPrecedence.InEffect(null, Available(NormalizationSource.Corpus)));
        Assert.Equal(NormalizationSource.None, NormalizationPrecedence.InEffect(null, Available()));
    }

    [Fact]
    public void An_admins_choice_wins_over_the_default_order_and_the_explanation_says_so()
    {
        var all = Available(NormalizationSource.Imported, NormalizationSource.Checkpoint, NormalizationSource.Corpus);
        Assert.Equal(NormalizationSource.Corpus, NormalizationPrecedence.InEffect(NormalizationSource.Corpus, all));
        Assert.Equal(NormalizationSource.Checkpoint, NormalizationPrecedence.InEffect(NormalizationSource.Checkpoint, all));
        Assert.Contains("chosen by an admin", NormalizationPrecedence.Explain(NormalizationSource.Checkpoint, NormalizationSource.Checkpoint));
        Assert.Contains("default order", NormalizationPrecedence.Explain(null, NormalizationSource.Imported));
        Assert.StartsWith("IMPORTED", NormalizationPrecedence.Explain(null, NormalizationSource.Imported));
    }
}
