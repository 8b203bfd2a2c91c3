using EsmcFeaturePlatform.TestSupport;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Grains;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>The corpus table (indexed proteins outside grain state) on a real Azurite table service.</summary>
public sealed class CorpusTableTests
{
    private const string Partition = "sae_07";

    private static CorpusTable NewTable()
    {
        TestEnvironment.EnsureAzurite();
        return new CorpusTable(new TableServiceClient(TestStorage.ConnectionString), CorpusTable.TableNameFor(TestEnvironment.UniqueName("t")));
    }

    private static IndexedProtein Protein(string id, string sequence, int annotations = 0) => new(
        id, sequence, $"description of {id}",
        [.. Enumerable.Range(0, annotations).Select(i => new ProteinAnnotation("DOMAIN", i + 1, i + 10, $"note {i}"))],
        ["Zinc-finger", "Kinase"]);

    private static string RandomSequence(int length, int seed)
    {
        const string alphabet = "ACDEFGHIKLMNPQRSTVWY";
        var random = new Random(seed);
        return new string([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
    }

    private static void AssertSame(IndexedProtein expected, IndexedProtein actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Sequence, actual.Sequence);
        Assert.Equal(expected.Description, actual.Description);
        Assert.Equal(expected.Annotations, actual.Annotations);
        Assert.Equal(expected.Keywords, actual.Keywords);
    }

    [Fact]
    public async Task Proteins_larger_than_a_table_property_round_trip_in_several_chunks()
    {
        var table = NewTable();
        // Titin-size (35k residues, many annotations) and a record whose compressed form needs several 64 KiB properties.
        var titin = Protein("sp|Q8WZ42|TITIN_HUMAN", RandomSequence(35_000, 1), annotations: 3000);
        var huge = Protein("huge", RandomSequence(300_000, 2));
        Assert.Equal(["huge", titin.Id], (await table.ClaimAsync(Partition, "job:0", [huge, titin])).Order(StringComparer.Ordinal));

        var back = await table.GetAsync(Partition, [titin.Id, huge.Id]);
        Assert.Equal(2, back.Length);
        AssertSame(titin, back.Single(p => p.Id == titin.Id));
        AssertSame(huge, back.Single(p => p.Id == huge.Id));

        var raw = await new TableServiceClient(TestStorage.ConnectionString).GetTableClient(table.TableName)
            .GetEntityAsync<TableEntity>(Partition, CorpusTable.RowKey(huge.Id));
        Assert.NotNull(raw.Value.GetBinary("P1"));   // really split: more than one property
    }

    [Fact]
    public async Task A_record_too_large_for_one_entity_is_refused_naming_it_and_nothing_of_its_batch_is_written()
    {
        var table = NewTable();
        var small = Protein("small", "MKTAYIAK");
        var tooLarge = Protein("giant-record", RandomSequence(3_000_000, 3));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => table.ClaimAsync(Partition, "job:0", [small, tooLarge]));
        Assert.Contains("giant-record", error.Message);
        Assert.Empty(await table.GetAsync(Partition, ["small", "giant-record"]));
        Assert.Equal(0, await table.CountAsync(Partition));
    }

    [Fact]
    public async Task Ids_with_characters_forbidden_in_row_keys_are_stored_and_found()
    {
        var table = NewTable();
        string[] ids = ["sp/P12345#frag?1", @"tr\Q9\x", "ctl\u0001\u007f\u0085id", "ünïcødé-プロテイン", new string('L', 2000), "a|b|c"];
        var proteins = ids.Select((id, i) => Protein(id, RandomSequence(20 + i, 10 + i))).ToArray();
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await table.ClaimAsync(Partition, "job:0", proteins)).Order(StringComparer.Ordinal));
        var back = await table.GetAsync(Partition, ids);
        Assert.Equal(ids, back.Select(p => p.Id));
        foreach (var (want, got) in proteins.Zip(back)) AssertSame(want, got);
        Assert.Equal(ids.Length, await table.CountAsync(Partition));
        await table.ReleaseAsync(Partition, "job:0", ids);
        Assert.Empty(await table.GetAsync(Partition, ids));
    }

    [Fact]
    public async Task First_writer_wins_a_retried_batch_recognises_its_rows_and_release_deletes_only_its_own()
    {
        var table = NewTable();
        var a = Protein("a", "MKTAYIAK");
        var b = Protein("b", "MKWVTFIS");
        var c = Protein("c", "GSHMLEDP");
        Assert.Equal(["a", "b"], (await table.ClaimAsync(Partition, "job1:0", [a, b])).Order(StringComparer.Ordinal));
        // Another batch with an overlapping id: only the new one is its own, and b keeps its first sequence.
        var bAgain = Protein("b", "WWWWWWWW");
        Assert.Equal(["c"], await table.ClaimAsync(Partition, "job2:0", [bAgain, c]));
        Assert.Equal("MKWVTFIS", (await table.GetAsync(Partition, ["b"])).Single().Sequence);
        // A retry of the first batch (after a lost silo) still owns both of its ids.
        Assert.Equal(["a", "b"], (await table.ClaimAsync(Partition, "job1:0", [a, b])).Order(StringComparer.Ordinal));
        // The second batch failed: releasing it removes c, never b (claimed by job1).
        await table.ReleaseAsync(Partition, "job2:0", ["b", "c"]);
        Assert.Equal(["a", "b"], (await table.GetAsync(Partition, ["a", "b", "c"])).Select(p => p.Id));
        // Released ids can be claimed again.
        Assert.Equal(["c"], await table.ClaimAsync(Partition, "job3:0", [c]));
    }

    [Fact]
    public async Task A_sample_is_the_proteins_with_the_smallest_id_hashes()
    {
        var table = NewTable();
        var proteins = Enumerable.Range(0, 150).Select(i => Protein($"p{i}", RandomSequence(10, i))).ToArray();
        // More than 100 rows in one partition: several transactions.
        Assert.Equal(150, (await table.ClaimAsync(Partition, "job:0", proteins)).Length);
        var expected = proteins.Select(p => p.Id).OrderBy(CorpusSharding.StableHash).Take(7).ToArray();
        Assert.Equal(expected, (await table.SampleAsync(Partition, 7)).Select(p => p.Id));
        Assert.Equal(150, (await table.SampleAsync(Partition, 1000)).Length);
        Assert.Equal(150, await table.CountAsync(Partition));
    }

    [Fact]
    public void Table_names_follow_the_grain_state_container_and_are_valid()
    {
        var name = CorpusTable.TableNameFor("esmc-grain-state");
        Assert.Equal("corpusesmcgrainstate", name);
        Assert.Equal(63, CorpusTable.TableNameFor(new string('x', 100)).Length);
    }
}

/// <summary>Indexed proteins on a real cluster: in the corpus table, never in grain state.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterCorpusStorageTests
{
    private static async Task<int> CorpusRowsAsync(SiloCluster cluster, string saeId) =>
        (await Task.WhenAll(Enumerable.Range(0, CorpusSharding.ShardCount).Select(s =>
            cluster.Grains.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, s)).CountAsync()))).Sum();

    [Fact]
    public async Task Indexed_proteins_live_in_the_corpus_table_and_no_grain_state_holds_them()
    {
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 31);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("corpus"));
        await cluster.StartSilosAsync(1);
        var id = JobKinds.NewIndexCorpusId();
        await cluster.Grains.GetGrain<IIndexingJobGrain>(id).StartAsync(new IndexCorpusRequest(TestEnvironment.SaeWithRealStats, path, 5, "test"));
        Assert.Equal(JobStatus.Completed, (await cluster.WaitForJobAsync(id)).Status);

        var distinct = records.DistinctBy(r => r.Id).ToList();
        Assert.Equal(distinct.Count, await CorpusRowsAsync(cluster, TestEnvironment.SaeWithRealStats));
        var first = distinct[2];   // its id is repeated at the end of the file: the first record is the one stored
        var stored = await cluster.Grains.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(TestEnvironment.SaeWithRealStats, CorpusSharding.ShardOf(first.Id)))
            .GetAsync([first.Id]);
        Assert.Equal(first.Sequence, stored.Single().Sequence);

        // Grain state holds jobs, feature pages and statistics, but no corpus shard: its memory cannot grow with the
        // corpus. Indexing writes one blob per page of 256 features, none per feature (features hold descriptions only).
        var blobs = new List<string>();
        await foreach (var blob in new BlobServiceClient(TestStorage.ConnectionString).GetBlobContainerClient(cluster.StorageName).GetBlobsAsync())
            blobs.Add(blob.Name);
        var pages = blobs.Where(b => b.Contains("featurepage", StringComparison.OrdinalIgnoreCase)).ToList();
        var saes = await cluster.Grains.GetGrain<ISaeCatalogGrain>(0).GetCatalogAsync();
        var codebook = saes.Saes.Single(s => s.Id == TestEnvironment.SaeWithRealStats).CodebookSize;
        Assert.InRange(pages.Count, 1, (codebook + FeaturePages.Size - 1) / FeaturePages.Size);
        Assert.DoesNotContain(blobs, b => b.Contains("feature", StringComparison.OrdinalIgnoreCase) && !b.Contains("featurepage", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(blobs, b => b.Contains("corpusshard", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_job_failing_on_an_invalid_record_releases_every_claim_it_made()
    {
        // 30 records in batches of 5, onInvalidRecord: FAIL: the bad one is in batch 2, so batches 0 and 1 are already
        // claimed by the pipeline when reading batch 2 fails the job, and nothing commits (a window is 8 batches).
        // Their rows must all be released.
        var (path, records) = TestEnvironment.WriteCorpus(30, seed: 41);
        var lines = File.ReadAllLines(path);
        lines[25] = "MKT<mask>AYIAK";   // record 12's sequence: '<' is refused by the sequence rule
        File.WriteAllLines(path, lines);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("release"));
        await cluster.StartSilosAsync(1);
        var id = JobKinds.NewIndexCorpusId();
        await cluster.Grains.GetGrain<IIndexingJobGrain>(id).StartAsync(
            new IndexCorpusRequest(TestEnvironment.SaeWithRealStats, path, 5, "test", InvalidRecordPolicy.Fail));
        var info = await cluster.WaitForJobAsync(id);

        Assert.Equal(JobStatus.Failed, info.Status);
        Assert.Contains(records[12].Id, info.Error);
        Assert.Contains("'<' at position 4", info.Error);
        Assert.Equal(0, info.Processed);
        Assert.Equal(0, await CorpusRowsAsync(cluster, TestEnvironment.SaeWithRealStats));
        var stats = await cluster.Grains.GetGrain<INormalizationStatsGrain>(TestEnvironment.SaeWithRealStats).GetCorpusStatisticsAsync([0]);
        Assert.Equal(0, stats.CorpusSize);
    }
}
