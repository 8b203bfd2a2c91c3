using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Search.Lucene;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using FSDirectory = Lucene.Net.Store.FSDirectory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Search.Tests;

public sealed class LuceneFeatureIndexContractTests : FeatureIndexContract
{
    private readonly TempDirectory folder = new();

    protected override Task<IFeatureIndex> CreateIndexAsync() =>
        Task.FromResult<IFeatureIndex>(new LuceneFeatureIndex(new LuceneSearchOptions { IndexDirectory = folder.Path }));

    protected override async Task DestroyIndexAsync(IFeatureIndex created)
    {
        await ((LuceneFeatureIndex)created).DisposeAsync();
        folder.Dispose();
    }
}

public sealed class LuceneFeatureIndexTests : IDisposable
{
    private const string Sae = "ESMC-300M-sae-layer23-k64-codebook65536/layer23";
    private readonly TempDirectory folder = new();

    public void Dispose() => folder.Dispose();

    private LuceneFeatureIndex Open(TimeSpan? commitInterval = null) =>
        new(new LuceneSearchOptions { IndexDirectory = folder.Path, CommitInterval = commitInterval ?? TimeSpan.FromSeconds(1) });

    private static FeatureDocument Doc(int index, string label, string text = "Some description.") =>
        new(Sae, index, label, text, DescriptionStatus.Approved, DescriptionSource.Human, 0.8, 3.5f, 12, 1000,
            Math.Log(1000.0 / 12), ["ion binding"], DateTimeOffset.UnixEpoch.AddDays(index));

    [Fact]
    public async Task Documents_survive_a_restart()
    {
        await using (var index = Open())
        {
            await index.UpsertAsync([Doc(1, "Zinc finger"), Doc(2, "Kinase")]);
            await index.DeleteSaeAsync("other/layer1");
        }

        await using var reopened = Open();
        Assert.Equal(2, await reopened.CountAsync());
        Assert.Equal(1, (await reopened.SearchAsync(new FeatureSearchQuery("kinase"))).TotalCount);
    }

    [Fact]
    public async Task Cached_results_never_outlive_a_write_and_equal_uncached_ones()
    {
        await using var index = Open();
        await index.UpsertAsync([Doc(1, "Zinc finger"), Doc(2, "Kinase")]);
        var zinc = new FeatureSearchQuery("zinc");
        var first = await index.SearchAsync(zinc);
        Assert.Same(first, await index.SearchAsync(zinc));                       // the repeat is the cached result
        Assert.Equal(first.Hits.Select(h => h.Index), index.Search(zinc, useCache: false).Hits.Select(h => h.Index));
        Assert.NotSame(first, await index.SearchAsync(zinc with { Statuses = [DescriptionStatus.Rejected] }));

        await index.UpsertAsync([Doc(3, "Zinc ribbon")]);                        // a write: new reader, empty cache
        Assert.Equal([1, 3], (await index.SearchAsync(zinc)).Hits.Select(h => h.Index).Order());
        await index.UpsertAsync([Doc(1, "Iron sulfur cluster")]);
        Assert.Equal([3], (await index.SearchAsync(zinc)).Hits.Select(h => h.Index));
        await index.DeleteSaeAsync(Sae);
        Assert.Equal(0, (await index.SearchAsync(zinc)).TotalCount);
    }

    [Fact]
    public async Task With_a_zero_commit_interval_every_write_is_on_disk_when_upsert_returns()
    {
        await using var index = Open(TimeSpan.Zero);
        await index.UpsertAsync([Doc(1, "Zinc finger")]);

        // A separate reader of the committed files sees the write without the writer closing.
        using var directory = FSDirectory.Open(index.LiveGenerationPath);
        using var reader = DirectoryReader.Open(directory);
        Assert.Equal(1, reader.NumDocs);
    }

    [Fact]
    public async Task Stored_documents_round_trip_every_field()
    {
        await using var index = Open(TimeSpan.Zero);
        var original = Doc(5, "Zinc finger", "Binds zinc.") with { AnnotationTerms = ["zinc ion binding", "nucleus"] };
        await index.UpsertAsync([original]);

        using var directory = FSDirectory.Open(index.LiveGenerationPath);
        using var reader = DirectoryReader.Open(directory);
        var read = LuceneFeatureDocuments.Read(reader.Document(0));

        Assert.Equal(original with { AnnotationTerms = [] }, read with { AnnotationTerms = [] });
        Assert.Equal(original.AnnotationTerms, read.AnnotationTerms);
    }

    [Fact]
    public async Task A_failed_rebuild_leaves_the_old_index_live_and_no_leftovers()
    {
        await using var index = Open();
        await index.UpsertAsync([Doc(1, "Survivor")]);
        var liveBefore = index.LiveGenerationPath;

        await Assert.ThrowsAsync<InvalidOperationException>(() => index.RebuildAsync(FailingAfter(5)));

        Assert.Equal(liveBefore, index.LiveGenerationPath);
        Assert.Equal(1, (await index.SearchAsync(new FeatureSearchQuery("survivor"))).TotalCount);
        Assert.Equal([Path.GetFileName(liveBefore)], Directory.GetDirectories(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Rebuild_swaps_generations_and_the_new_one_is_live_after_restart()
    {
        await using (var index = Open())
        {
            await index.UpsertAsync([Doc(1, "Old")]);
            var before = index.LiveGenerationPath;
            await index.RebuildAsync(Enumerable.Range(10, 3).Select(i => Doc(i, "Rebuilt")).ToAsyncEnumerable());
            Assert.NotEqual(before, index.LiveGenerationPath);
            Assert.False(Directory.Exists(before));
        }

        await using var reopened = Open();
        Assert.Equal(3, await reopened.CountAsync());
        Assert.Equal(0, (await reopened.SearchAsync(new FeatureSearchQuery("old"))).TotalCount);
    }

    [Fact]
    public async Task Writes_made_during_a_rebuild_are_kept_after_the_swap()
    {
        await using var index = Open();
        var halfway = new TaskCompletionSource();
        var resume = new TaskCompletionSource();

        async IAsyncEnumerable<FeatureDocument> Source()
        {
            yield return Doc(1, "From rebuild");
            halfway.SetResult();
            await resume.Task;
            yield return Doc(2, "From rebuild too");
        }

        var rebuild = index.RebuildAsync(Source());
        await halfway.Task;
        await index.UpsertAsync([Doc(3, "Written meanwhile")]);
        // Visible at once, before the swap, because it went to the live generation.
        Assert.Equal(1, (await index.SearchAsync(new FeatureSearchQuery("meanwhile"))).TotalCount);
        resume.SetResult();
        await rebuild;

        Assert.Equal(3, await index.CountAsync());
        Assert.Equal(1, (await index.SearchAsync(new FeatureSearchQuery("meanwhile"))).TotalCount);
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_see_consistent_results()
    {
        await using var index = Open();
        const int writers = 4, perWriter = 50;

        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < perWriter; i++) await index.UpsertAsync([Doc(w * perWriter + i, $"Helix {w}")]);
        }));
        var reading = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var last = 0;
            for (var i = 0; i < 100; i++)
            {
                var count = (await index.SearchAsync(new FeatureSearchQuery("helix", First: 5))).TotalCount;
                Assert.True(count >= last, "a reader saw the index shrink while only upserts ran");
                last = count;
            }
        }));
        await Task.WhenAll(writing.Concat(reading));

        Assert.Equal(writers * perWriter, (await index.SearchAsync(new FeatureSearchQuery("helix"))).TotalCount);
    }

    [Fact]
    public async Task A_damaged_current_pointer_gives_a_clear_error()
    {
        (await Task.FromResult(Open())).Dispose();
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "CURRENT"), "gen-999999");

        var error = Assert.Throws<InvalidOperationException>(() => Open());
        Assert.Contains("gen-999999", error.Message, StringComparison.Ordinal);
        Assert.Contains(folder.Path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_index_on_the_same_folder_is_refused_clearly()
    {
        await using var first = Open();
        var error = Assert.Throws<InvalidOperationException>(() => Open());
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lucene_documents_use_exactly_the_schema_fields_with_matching_kinds()
    {
        var full = Doc(1, "Label", "Text") with { AnnotationTerms = ["a term"] };
        var doc = LuceneFeatureDocuments.Create(full);
        var indexed = doc.Fields.Cast<Field>().Where(f => f.FieldType.IsIndexed).ToList();

        Assert.Equal(FeatureIndexSchema.Fields.Select(f => f.Name).Order(), indexed.Select(f => f.Name).Distinct().Order());
        foreach (var field in indexed)
        {
            var kind = FeatureIndexSchema.Fields.Single(f => f.Name == field.Name).Kind;
            var type = field.FieldType;
            var expected = kind switch
            {
                FeatureIndexFieldKind.Text => type.IsTokenized && type.NumericType == NumericType.NONE,
                FeatureIndexFieldKind.Keyword => !type.IsTokenized && type.NumericType == NumericType.NONE,
                FeatureIndexFieldKind.Integer => type.NumericType == NumericType.INT32,
                FeatureIndexFieldKind.Float => type.NumericType == NumericType.SINGLE,
                FeatureIndexFieldKind.Double => type.NumericType == NumericType.DOUBLE,
                FeatureIndexFieldKind.Date => type.NumericType == NumericType.INT64,
                _ => false,
            };
            Assert.True(expected, $"Lucene field '{field.Name}' does not have the schema kind {kind}.");
        }
    }

    [Fact]
    public async Task The_service_registration_defaults_the_folder_under_the_data_root()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Esmc:DataRoot"] = folder.Path }).Build();
        await using (var provider = new ServiceCollection().AddLuceneFeatureIndex(configuration).BuildServiceProvider())
        {
            var index = provider.GetRequiredService<IFeatureIndex>();
            Assert.Same(provider.GetRequiredService<LuceneFeatureIndex>(), index);
            await index.UpsertAsync([Doc(1, "Registered")]);
        }

        Assert.True(File.Exists(Path.Combine(folder.Path, "search", "CURRENT")));
        await using var reopened = new LuceneFeatureIndex(new LuceneSearchOptions { IndexDirectory = Path.Combine(folder.Path, "search") });
        Assert.Equal(1, await reopened.CountAsync());
    }

    private static async IAsyncEnumerable<FeatureDocument> FailingAfter(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return Doc(100 + i, "Partial");
        }
        throw new InvalidOperationException("grain state read failed");
    }
}
