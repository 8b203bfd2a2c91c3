using EsmcFeaturePlatform.Abstractions;
using Xunit;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>
/// The behaviour every <see cref="IFeatureIndex"/> must have. Each provider derives one class from this; every test
/// gets a fresh, empty index. Expected results are derived from the input documents (LINQ over what was indexed),
/// never from a provider's own output.
/// </summary>
public abstract class FeatureIndexContract : IAsyncLifetime
{
    protected const string SaeA = "ESMC-300M-sae-layer23-k64-codebook65536/layer23";
    protected const string SaeB = "ESMC-600M-sae-k64-codebook16384/layer30";

    private IFeatureIndex? index;

    protected IFeatureIndex Index => index ?? throw new InvalidOperationException("Index not created.");

    /// <summary>A new, empty index for one test.</summary>
    protected abstract Task<IFeatureIndex> CreateIndexAsync();

    protected abstract Task DestroyIndexAsync(IFeatureIndex created);

    public async Task InitializeAsync() => index = await CreateIndexAsync();

    public async Task DisposeAsync()
    {
        if (index is not null) await DestroyIndexAsync(index);
    }

    protected static FeatureDocument Doc(
        string sae, int idx, string? label, string? text,
        DescriptionStatus? status = DescriptionStatus.Proposed, DescriptionSource? source = DescriptionSource.Agent,
        double? score = null, int documentCount = 10, int corpusSize = 1000, params string[] annotations) =>
        new(sae, idx, label, text, status, source, score, documentCount > 0 ? 2.5f : null, documentCount, corpusSize,
            documentCount > 0 ? Math.Log((double)corpusSize / documentCount) : null, annotations,
            new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero));

    protected static List<(string Sae, int Index)> Keys(FeatureSearchResult result) => [.. result.Hits.Select(h => (h.SaeId, h.Index))];

    private async Task<List<FeatureSearchHit>> SearchAllPagesAsync(FeatureSearchQuery query)
    {
        var all = new List<FeatureSearchHit>();
        string? after = null;
        for (var page = 0; page < 1000; page++)
        {
            var result = await Index.SearchAsync(query with { After = after });
            all.AddRange(result.Hits);
            if (!result.HasNextPage) return all;
            Assert.NotNull(result.EndCursor);
            after = result.EndCursor;
        }
        throw new InvalidOperationException("Paging did not end.");
    }

    [ContractFact]
    public async Task Stemmed_words_match_other_forms_of_the_word()
    {
        await Index.UpsertAsync([
            Doc(SaeA, 1, "Zinc finger", "Binds zinc ions through paired cysteine residues."),
            Doc(SaeA, 2, "Signal peptide", "N-terminal hydrophobic stretch cleaved on secretion."),
        ]);

        var result = await Index.SearchAsync(new FeatureSearchQuery("binding"));

        Assert.Equal([(SaeA, 1)], Keys(result));
        Assert.Equal(1, result.TotalCount);
        Assert.True(result.Hits[0].Score > 0);
    }

    [ContractFact]
    public async Task A_word_in_the_label_outranks_it_in_the_text_which_outranks_it_in_annotations()
    {
        // Same field lengths everywhere, so only the field (and its boost) differs between the three features.
        await Index.UpsertAsync([
            Doc(SaeA, 10, "alpha beta", "gamma delta", annotations: ["kinase domain"]),
            Doc(SaeA, 11, "alpha beta", "kinase domain"),
            Doc(SaeA, 12, "kinase domain", "gamma delta"),
        ]);

        var result = await Index.SearchAsync(new FeatureSearchQuery("kinase"));

        Assert.Equal([(SaeA, 12), (SaeA, 11), (SaeA, 10)], Keys(result));
        Assert.True(result.Hits[0].Score > result.Hits[1].Score && result.Hits[1].Score > result.Hits[2].Score);
    }

    [ContractFact]
    public async Task Terms_are_anded_and_phrases_need_adjacent_words()
    {
        await Index.UpsertAsync([
            Doc(SaeA, 1, "Zinc finger", "C2H2 zinc finger motif."),
            Doc(SaeA, 2, "Finger domain", "A finger-like loop that does not bind zinc."),
            Doc(SaeA, 3, "Zinc transporter", "Moves zinc across membranes."),
        ]);

        var both = await Index.SearchAsync(new FeatureSearchQuery("zinc finger"));
        var phrase = await Index.SearchAsync(new FeatureSearchQuery("\"zinc finger\""));
        var either = await Index.SearchAsync(new FeatureSearchQuery("finger OR transporter"));

        Assert.Equal([1, 2], both.Hits.Select(h => h.Index).Order());
        Assert.Equal([1], phrase.Hits.Select(h => h.Index));
        Assert.Equal([1, 2, 3], either.Hits.Select(h => h.Index).Order());
    }

    [ContractFact]
    public async Task Prefix_queries_expand_to_matching_words()
    {
        await Index.UpsertAsync([
            Doc(SaeA, 1, "Transmembrane helix", "Hydrophobic membrane-spanning segment."),
            Doc(SaeA, 2, "Transit peptide", "Targets the protein to chloroplasts."),
            Doc(SaeA, 3, "Coiled coil", "Heptad repeats."),
        ]);

        var result = await Index.SearchAsync(new FeatureSearchQuery("transm*"));
        var wider = await Index.SearchAsync(new FeatureSearchQuery("trans*"));

        Assert.Equal([1], result.Hits.Select(h => h.Index));
        Assert.Contains(result.Hits[0].Highlights["label"], s => s.Contains("<em>Transmembrane</em>", StringComparison.Ordinal));
        Assert.Equal([1, 2], wider.Hits.Select(h => h.Index).Order());
    }

    [ContractFact]
    public async Task A_prefix_spelling_a_whole_word_still_finds_its_stemmed_forms()
    {
        await Index.UpsertAsync([
            Doc(SaeA, 1, "Protein kinase", "Serine/threonine kinases phosphorylate substrates."),
            Doc(SaeA, 2, "Kinesin motor", "Moves along microtubules."),
            Doc(SaeA, 3, "Phosphatase", "Removes phosphate groups."),
        ]);

        Assert.Equal([1], (await Index.SearchAsync(new FeatureSearchQuery("kinase*"))).Hits.Select(h => h.Index));
        Assert.Equal([1, 2], (await Index.SearchAsync(new FeatureSearchQuery("kin*"))).Hits.Select(h => h.Index).Order());
        Assert.Equal([1], (await Index.SearchAsync(new FeatureSearchQuery("phospho*"))).Hits.Select(h => h.Index));
        Assert.Equal([3], (await Index.SearchAsync(new FeatureSearchQuery("phosphatase*"))).Hits.Select(h => h.Index));
    }

    [ContractFact]
    public async Task Filters_select_exactly_the_matching_features()
    {
        var docs = new List<FeatureDocument>();
        var statuses = Enum.GetValues<DescriptionStatus>();
        var sources = Enum.GetValues<DescriptionSource>();
        for (var i = 0; i < 36; i++)
        {
            docs.Add(Doc(i % 2 == 0 ? SaeA : SaeB, i, $"helix feature {i}", "Alpha helix in a coiled region.",
                statuses[i % 3], sources[i / 3 % 3], score: i % 4 == 0 ? null : i / 36.0, documentCount: i * 3));
        }
        await Index.UpsertAsync(docs);

        async Task Check(FeatureSearchQuery query, Func<FeatureDocument, bool> expected)
        {
            var hits = await SearchAllPagesAsync(query with { First = 7 });
            var want = docs.Where(expected).Select(d => (d.SaeId, d.Index)).Order().ToList();
            Assert.Equal(want, hits.Select(h => (h.SaeId, h.Index)).Order().ToList());
            Assert.Equal(want.Count, (await Index.SearchAsync(query)).TotalCount);
        }

        await Check(new("helix", SaeId: SaeB), d => d.SaeId == SaeB);
        await Check(new("helix", Statuses: [DescriptionStatus.Approved, DescriptionStatus.Rejected]), d => d.Status != DescriptionStatus.Proposed);
        await Check(new("helix", Sources: [DescriptionSource.Human]), d => d.Source == DescriptionSource.Human);
        await Check(new("helix", MinScore: 0.5), d => d.Score >= 0.5);
        await Check(new("helix", MinDocumentCount: 30, MaxDocumentCount: 60), d => d.DocumentCount is >= 30 and <= 60);
        await Check(new("", SaeId: SaeA, Statuses: [DescriptionStatus.Approved], MaxDocumentCount: 50),
            d => d.SaeId == SaeA && d.Status == DescriptionStatus.Approved && d.DocumentCount <= 50);
    }

    [ContractFact]
    public async Task Filters_do_not_change_relevance()
    {
        await Index.UpsertAsync([
            Doc(SaeA, 1, "ATP binding", "P-loop NTPase motif binding ATP.", DescriptionStatus.Approved),
            Doc(SaeA, 2, "Kinase", "Binds ATP in the kinase cleft; ATP binding loop.", DescriptionStatus.Approved),
            Doc(SaeB, 3, "ATP", "ATP.", DescriptionStatus.Rejected),
        ]);

        var unfiltered = await Index.SearchAsync(new FeatureSearchQuery("atp"));
        var filtered = await Index.SearchAsync(new FeatureSearchQuery("atp", Statuses: [DescriptionStatus.Approved]));

        var expected = unfiltered.Hits.Where(h => h.Index != 3).Select(h => (h.Index, h.Score)).ToList();
        Assert.Equal(expected, filtered.Hits.Select(h => (h.Index, h.Score)).ToList());
    }

    [ContractFact]
    public async Task Pages_cover_every_match_once_in_relevance_then_sae_then_index_order()
    {
        var docs = new List<FeatureDocument>();
        for (var i = 0; i < 25; i++)
        {
            // Many exact relevance ties (same text) so the tie-break order is what pages rely on.
            var text = i % 5 == 0 ? "Beta strand in a beta sheet; beta hairpin." : "Beta strand.";
            docs.Add(Doc(i % 3 == 0 ? SaeB : SaeA, 100 - i, "strand", text));
        }
        await Index.UpsertAsync(docs);

        var pages = new List<FeatureSearchResult>();
        string? after = null;
        do
        {
            var page = await Index.SearchAsync(new FeatureSearchQuery("beta", First: 10, After: after));
            pages.Add(page);
            after = page.EndCursor;
        }
        while (pages[^1].HasNextPage);

        Assert.Equal([10, 10, 5], pages.Select(p => p.Hits.Count));
        Assert.All(pages, p => Assert.Equal(25, p.TotalCount));
        var hits = pages.SelectMany(p => p.Hits).ToList();
        Assert.Equal(docs.Select(d => (d.SaeId, d.Index)).Order(), hits.Select(h => (h.SaeId, h.Index)).Order());
        var expectedOrder = hits.OrderByDescending(h => h.Score).ThenBy(h => h.SaeId, StringComparer.Ordinal).ThenBy(h => h.Index).ToList();
        Assert.Equal(expectedOrder.Select(h => (h.SaeId, h.Index)), hits.Select(h => (h.SaeId, h.Index)));
        Assert.Equal(pages[0].Hits[^1].Cursor, pages[0].EndCursor);
    }

    [ContractFact]
    public async Task An_empty_query_lists_every_feature_by_sae_then_index()
    {
        var docs = Enumerable.Range(0, 12).Select(i => Doc(i % 2 == 0 ? SaeA : SaeB, 50 - i, null, null, null, null)).ToList();
        await Index.UpsertAsync(docs);

        var hits = await SearchAllPagesAsync(new FeatureSearchQuery("", First: 5));

        var expected = docs.OrderBy(d => d.SaeId, StringComparer.Ordinal).ThenBy(d => d.Index).Select(d => (d.SaeId, d.Index));
        Assert.Equal(expected, hits.Select(h => (h.SaeId, h.Index)));
    }

    [ContractFact]
    public async Task Page_size_is_clamped_and_zero_returns_only_the_count()
    {
        var docs = Enumerable.Range(0, FeatureIndexSchema.MaxPageSize + 5).Select(i => Doc(SaeA, i, "loop", "Flexible loop.")).ToList();
        await Index.UpsertAsync(docs);

        var big = await Index.SearchAsync(new FeatureSearchQuery("loop", First: 10_000));
        var none = await Index.SearchAsync(new FeatureSearchQuery("loop", First: 0));

        Assert.Equal(FeatureIndexSchema.MaxPageSize, big.Hits.Count);
        Assert.True(big.HasNextPage);
        Assert.Equal(docs.Count, big.TotalCount);
        Assert.Empty(none.Hits);
        Assert.Equal(docs.Count, none.TotalCount);
        Assert.Null(none.EndCursor);
    }

    [ContractFact]
    public async Task Highlights_mark_matched_words_and_escape_html()
    {
        await Index.UpsertAsync([
            Doc(SaeA, 1, "Zinc finger", "Binds <zinc> & other metals via cysteines.", annotations: ["zinc ion binding", "nucleus"]),
        ]);

        var hit = Assert.Single((await Index.SearchAsync(new FeatureSearchQuery("zinc"))).Hits);

        Assert.Contains(hit.Highlights["label"], s => s.Contains("<em>Zinc</em>", StringComparison.Ordinal));
        var text = Assert.Single(hit.Highlights["text"]);
        Assert.Contains("&lt;<em>zinc</em>&gt;", text, StringComparison.Ordinal);
        Assert.Contains("&amp;", text, StringComparison.Ordinal);
        Assert.Equal(["<em>zinc</em> ion binding"], hit.Highlights["annotation_terms"]);
    }

    [ContractFact]
    public async Task Upsert_replaces_the_whole_document()
    {
        await Index.UpsertAsync([Doc(SaeA, 7, "Old label", "Glycine rich loop.")]);
        await Index.UpsertAsync([Doc(SaeA, 7, "Nuclear localisation", "Basic residues signal import.", DescriptionStatus.Approved)]);

        Assert.Equal(0, (await Index.SearchAsync(new FeatureSearchQuery("glycine"))).TotalCount);
        Assert.Equal([(SaeA, 7)], Keys(await Index.SearchAsync(new FeatureSearchQuery("nuclear", Statuses: [DescriptionStatus.Approved]))));
        Assert.Equal(1, await Index.CountAsync());
    }

    [ContractFact]
    public async Task Deleting_an_sae_removes_only_its_features()
    {
        await Index.UpsertAsync([.. Enumerable.Range(0, 6).Select(i => Doc(i < 4 ? SaeA : SaeB, i, "motif", "Conserved motif."))]);

        await Index.DeleteSaeAsync(SaeA);

        Assert.Equal(0, await Index.CountAsync(SaeA));
        Assert.Equal(2, await Index.CountAsync(SaeB));
        Assert.Equal(2, await Index.CountAsync());
        Assert.All((await Index.SearchAsync(new FeatureSearchQuery("motif"))).Hits, h => Assert.Equal(SaeB, h.SaeId));
    }

    [ContractFact]
    public async Task Rebuild_replaces_the_whole_index()
    {
        await Index.UpsertAsync([Doc(SaeA, 1, "Stale", "Gone after the rebuild."), Doc(SaeB, 2, "Also stale", "Gone too.")]);
        var fresh = Enumerable.Range(0, 30).Select(i => Doc(SaeB, i, $"Fresh {i}", "Rebuilt from grain state.")).ToList();

        await Index.RebuildAsync(fresh.ToAsyncEnumerable());

        Assert.Equal(fresh.Count, await Index.CountAsync());
        Assert.Equal(0, await Index.CountAsync(SaeA));
        Assert.Equal(0, (await Index.SearchAsync(new FeatureSearchQuery("stale"))).TotalCount);
        Assert.Equal(fresh.Count, (await Index.SearchAsync(new FeatureSearchQuery("rebuilt"))).TotalCount);
    }

    [ContractFact]
    public async Task Malformed_queries_throw_SearchSyntaxException_and_leave_the_index_usable()
    {
        await Index.UpsertAsync([Doc(SaeA, 1, "Zinc finger", "Zinc.")]);

        foreach (var bad in new[] { "\"unclosed phrase", "label:(zinc", "*leading", "zinc AND", "[a TO" })
        {
            var error = await Assert.ThrowsAsync<SearchSyntaxException>(() => Index.SearchAsync(new FeatureSearchQuery(bad)));
            Assert.Contains(bad, error.Message, StringComparison.Ordinal);
        }
        Assert.Equal(1, (await Index.SearchAsync(new FeatureSearchQuery("zinc"))).TotalCount);
    }

    [ContractFact]
    public async Task Bad_arguments_are_rejected_naming_the_argument()
    {
        var badCursor = await Assert.ThrowsAnyAsync<ArgumentException>(() => Index.SearchAsync(new FeatureSearchQuery("x", After: "not-a-cursor")));
        var badFirst = await Assert.ThrowsAnyAsync<ArgumentException>(() => Index.SearchAsync(new FeatureSearchQuery("x", First: -1)));
        var badRange = await Assert.ThrowsAnyAsync<ArgumentException>(() => Index.SearchAsync(new FeatureSearchQuery("x", MinDocumentCount: 5, MaxDocumentCount: 2)));

        Assert.Equal("after", badCursor.ParamName);
        Assert.Equal("first", badFirst.ParamName);
        Assert.Equal("maxDocumentCount", badRange.ParamName);
    }

    [ContractFact]
    public async Task A_batch_with_an_invalid_document_writes_nothing()
    {
        var batch = new[] { Doc(SaeA, 1, "Fine", "Fine."), Doc("bad#sae", 2, "Bad", "Bad.") };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Index.UpsertAsync(batch));

        Assert.Contains("bad#sae", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await Index.CountAsync());
    }
}
