using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Inference.TorchSharp;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>Indexing on a real 2-silo cluster over Azurite, against a direct single-process computation.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterIndexingTests
{
    private const int TopExamples = 5;
    private const int Codebook = 64;

    internal static async Task<string> StartJobAsync(
        SiloCluster cluster, string path, InvalidRecordPolicy onInvalidRecord = InvalidRecordPolicy.Skip, OverLongPolicy onOverLong = OverLongPolicy.Skip)
    {
        var id = JobKinds.NewIndexCorpusId();
        await cluster.Grains.GetGrain<IIndexingJobGrain>(id).StartAsync(
            new IndexCorpusRequest(TestEnvironment.SaeWithRealStats, path, TopExamples, "test", onInvalidRecord, onOverLong));
        return id;
    }

    // Indexed from the corpus root (the server reads no file outside it), read directly for the expected values.
    private static readonly string SwissProtSample = CopyToCorpusRoot(Path.Combine(AppContext.BaseDirectory, "fixtures", "uniprot", "swissprot_sample.dat"));

    private static string CopyToCorpusRoot(string source)
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(TestEnvironment.CorpusRoot, TestEnvironment.UniqueName("fixture"))).FullName, Path.GetFileName(source));
        File.Copy(source, path);
        return path;
    }

    /// <summary>The fixture's records as the reader gives them (accession, sequence).</summary>
    private static async Task<List<(string Id, string Sequence)>> ReadSwissProtAsync()
    {
        var records = new List<(string, string)>();
        await foreach (var record in EsmcFeaturePlatform.Corpus.CorpusReader.ReadAsync(SwissProtSample)) records.Add((record.Id, record.Sequence));
        return records;
    }

    /// <summary>Every feature's statistics and top examples, as the platform serves them.</summary>
    internal static async Task<(CorpusStatistics Stats, ActivationExample[][] Examples)> SnapshotAsync(SiloCluster cluster)
    {
        var stats = await cluster.Grains.GetGrain<INormalizationStatsGrain>(TestEnvironment.SaeWithRealStats)
            .GetCorpusStatisticsAsync([.. Enumerable.Range(0, Codebook)]);
        var examples = await Task.WhenAll(Enumerable.Range(0, Codebook).Select(i =>
            cluster.Grains.GetGrain<IFeatureGrain>(new FeatureKey(TestEnvironment.SaeWithRealStats, i).ToString()).GetTopExamplesAsync(TopExamples)));
        return (stats, examples);
    }

    internal static void AssertMatches(ExpectedCorpus expected, (CorpusStatistics Stats, ActivationExample[][] Examples) actual)
    {
        Assert.Equal(expected.CorpusSize, actual.Stats.CorpusSize);
        for (var i = 0; i < Codebook; i++)
        {
            var stats = actual.Stats.Features[i];
            Assert.Equal(i, stats.Index);
            Assert.Equal(expected.CorpusSize, stats.CorpusSize);
            if (!expected.Stats.TryGetValue(i, out var want))
            {
                Assert.Equal(0, stats.DocumentCount);
                Assert.Null(stats.MaxActivation);
                Assert.Empty(actual.Examples[i]);
                continue;
            }
            Assert.Equal(want.DocumentCount, stats.DocumentCount);
            AssertClose(want.Max, stats.MaxActivation!.Value);
            Assert.Equal(Math.Log((double)expected.CorpusSize / want.DocumentCount), stats.Idf!.Value, 12);
            var wantExamples = expected.TopExamples[i];
            Assert.Equal(wantExamples.Count, actual.Examples[i].Length);
            foreach (var (w, found) in wantExamples.Zip(actual.Examples[i]))
            {
                var a = found;
                if (w.SequenceId != a.SequenceId)
                {
                    // Only a near tie may be ordered differently (real corpora hold near-identical proteins, e.g. actin
                    // isoforms, whose values differ by the batching's float noise): same value at that rank, and the
                    // expected example compared with its own row when it made the cut.
                    AssertClose(w.MaxValue, a.MaxValue);
                    if (Array.Find(actual.Examples[i], x => x.SequenceId == w.SequenceId) is not { } same) continue;
                    a = same;
                }
                AssertClose(w.MaxValue, a.MaxValue);
                Assert.Equal(w.Position, a.Position);
                Assert.Equal(w.Sequence, a.Sequence);
                Assert.Equal(w.Activations.Length, a.Activations.Length);
                foreach (var (x, y) in w.Activations.Zip(a.Activations)) AssertClose(x, y);
            }
        }
    }

    /// <summary>
    /// The encoder batches (and pads) differently when the cluster sends it several proteins at once than when the
    /// test encodes them one by one, which moves the last bits of a float: equal within float32 rounding noise.
    /// </summary>
    private static void AssertClose(float expected, float actual)
    {
        var tolerance = 1e-5f * Math.Max(1f, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected:R}, got {actual:R}");
    }

    internal static async Task<ExpectedCorpus> ExpectAsync(IReadOnlyList<(string Id, string Sequence)> records)
    {
        using var encoder = TestEnvironment.OpenEncoder();
        return await ExpectedCorpus.ComputeAsync(encoder, TestEnvironment.SaeWithRealStats, records, TopExamples);
    }

    [Fact]
    public async Task Indexing_on_two_silos_equals_the_direct_computation_and_reindexing_changes_nothing()
    {
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 11);
        var expected = await ExpectAsync(records);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("idx"));
        await cluster.StartSilosAsync(2);

        var first = await cluster.WaitForJobAsync(await StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Completed, first.Status);
        Assert.Null(first.Error);
        Assert.Equal(records.Count, first.Total);
        Assert.Equal(records.Count, first.Processed);
        var afterFirst = await SnapshotAsync(cluster);
        AssertMatches(expected, afterFirst);

        var second = await cluster.WaitForJobAsync(await StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Completed, second.Status);
        Assert.Equal(records.Count, second.Processed);
        AssertMatches(expected, await SnapshotAsync(cluster));
    }

    [Fact]
    public async Task Stopping_the_silo_running_a_job_between_feature_writes_and_commit_still_gives_identical_numbers()
    {
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 12);
        var expected = await ExpectAsync(records);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("stop"));
        var plan = new BlockingObserver.Plan(batchNumber: 2);
        await cluster.StartSilosAsync(2, plan);

        var jobId = await StartJobAsync(cluster, path);
        var siloHoldingTheJob = await plan.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var midway = await cluster.Grains.GetGrain<IIndexingJobGrain>(jobId).GetInfoAsync();
        Assert.Equal(JobStatus.Running, midway!.Status);
        Assert.True(midway.Processed < records.Count);

        await StopSiloThenExpectCompletionAsync(cluster, siloHoldingTheJob, jobId, records.Count, expected);
    }

    [Fact]
    public async Task Stopping_the_silo_inside_a_grown_window_replays_exactly_that_window()
    {
        // Windows adapt: the first is WindowBatches (2) long; a write share this small grows every later one to
        // MaxWindowBatches (3): batches [0,1], [2,3,4], [5,6,7], [8]. Stopping at batch 3, after the writes of
        // [2,3,4] and before its commit, leaves features ahead of the job by that whole window. The resumed job has
        // no write time measured yet, so on its own it would cut [2,3] and then [4,5,6], applying batch 4 twice;
        // it must end its first window where the lost one ended.
        var (path, records) = TestEnvironment.WriteCorpus(40, seed: 14);
        var expected = await ExpectAsync(records);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("grown"), new Dictionary<string, string?>
        {
            ["Esmc:Indexing:TargetWriteShare"] = "0.000001",
            ["Esmc:Indexing:MaxWindowDuration"] = "01:00:00",
            ["Esmc:Indexing:MaxWindowBatches"] = "3",
        });
        var plan = new BlockingObserver.Plan(batchNumber: 3);
        await cluster.StartSilosAsync(2, plan);

        var jobId = await StartJobAsync(cluster, path);
        var siloHoldingTheJob = await plan.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var midway = await cluster.Grains.GetGrain<IIndexingJobGrain>(jobId).GetInfoAsync();
        Assert.Equal(10, midway!.Processed);   // only the first window (batches 0 and 1, 5 proteins each) committed

        await StopSiloThenExpectCompletionAsync(cluster, siloHoldingTheJob, jobId, records.Count, expected);
    }

    [Fact]
    public async Task A_storage_failure_in_the_middle_of_a_window_suspends_the_job_and_the_resumed_job_gives_identical_numbers()
    {
        // No transient retries: the second window's page write fails for good after the statistics grain has applied
        // that window. The job must not fail (a later job would count those proteins again where the window landed);
        // it is resumed from its committed prefix, and the replay brings the page level while the statistics skip it.
        var (path, records) = TestEnvironment.WriteCorpus(24, seed: 15);
        var expected = await ExpectAsync(records);
        FaultyPageStorage? storage = null;
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("fault"), new Dictionary<string, string?> { ["Esmc:Indexing:TransientRetries"] = "0" })
        {
            ConfigureSilo = (_, services) => FaultyPageStorage.Install(services, failWrite: n => n == 2, created: s => storage = s),
        };
        await cluster.StartSilosAsync(1);

        var info = await cluster.WaitForJobAsync(await StartJobAsync(cluster, path));
        Assert.Equal(JobStatus.Completed, info.Status);
        Assert.Null(info.Error);
        Assert.Equal(records.Count, info.Processed);
        Assert.True(storage!.PageWrites >= 3, $"page writes: {storage.PageWrites}");   // the failed one and its replay
        AssertMatches(expected, await SnapshotAsync(cluster));
    }

    [Fact]
    public async Task Records_the_screening_blocks_are_skipped_and_the_statistics_are_those_of_the_file_without_them_even_after_a_lost_silo()
    {
        // Generated stand-ins for controlled proteins (the operator's database) mixed into a benign corpus: first,
        // inside batches, at a batch boundary and last, one of them lower case and split over two chains.
        var generator = new EsmcFeaturePlatform.TestSupport.SyntheticProteins(seed: 1415);
        var controlled = Enumerable.Range(0, 4).Select(_ => generator.Protein(60, 120)).ToArray();
        var database = Path.Combine(Path.GetTempPath(), $"esmc-controlled-{Guid.NewGuid():N}.fasta");
        await File.WriteAllLinesAsync(database, controlled.SelectMany((c, i) => new[] { $">HAZ{i} category=toxin", c }));
        var (_, benign) = TestEnvironment.WriteCorpus(24, seed: 16);
        var records = benign.ToList();
        records.Insert(0, ("haz-a", controlled[0]));
        records.Insert(8, ("haz-b", controlled[1].ToLowerInvariant()[..30] + "|" + controlled[1].ToLowerInvariant()[30..]));
        records.Insert(11, ("haz-c", controlled[2]));
        records.Add(("haz-d", generator.Embed(controlled[3][..55], 90)));
        var path = Path.Combine(TestEnvironment.CorpusRoot, $"esmc-screened-corpus-{Guid.NewGuid():N}.fasta");
        await File.WriteAllLinesAsync(path, records.SelectMany(r => new[] { $">{r.Id}", r.Sequence }));
        var expected = await ExpectAsync(benign);
        try
        {
            await using var cluster = new SiloCluster(TestEnvironment.UniqueName("screen"), new Dictionary<string, string?> { ["Esmc:Safety:SequenceDatabase"] = database });
            var plan = new BlockingObserver.Plan(batchNumber: 2);
            await cluster.StartSilosAsync(2, plan);
            var jobId = await StartJobAsync(cluster, path);
            var siloHoldingTheJob = await plan.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
            await StopSiloThenExpectCompletionAsync(cluster, siloHoldingTheJob, jobId, records.Count, expected);
            var info = await cluster.Grains.GetGrain<IIndexingJobGrain>(jobId).GetInfoAsync();
            Assert.Equal(4, info!.Screened);
            Assert.Equal(records.Count, info.Total);
        }
        finally
        {
            File.Delete(database);
            File.Delete(path);
        }
    }

    /// <summary>Stops the silo running the (blocked) job; the job must finish on another silo with exactly the expected numbers.</summary>
    private static async Task StopSiloThenExpectCompletionAsync(SiloCluster cluster, int silo, string jobId, int recordCount, ExpectedCorpus expected)
    {
        await cluster.StopSiloAsync(silo);
        var info = await cluster.WaitForJobAsync(jobId);
        Assert.Equal(JobStatus.Completed, info.Status);
        Assert.Equal(recordCount, info.Processed);
        AssertMatches(expected, await SnapshotAsync(cluster));
    }

    [Fact]
    public async Task Restarting_the_whole_cluster_keeps_all_state()
    {
        var (path, records) = TestEnvironment.WriteCorpus(12, seed: 13);
        var expected = await ExpectAsync(records);
        var storage = TestEnvironment.UniqueName("restart");
        string jobId;
        await using (var cluster = new SiloCluster(storage))
        {
            await cluster.StartSilosAsync(2);
            jobId = await StartJobAsync(cluster, path);
            Assert.Equal(JobStatus.Completed, (await cluster.WaitForJobAsync(jobId)).Status);
        }

        await using var restarted = new SiloCluster(storage);
        await restarted.StartSilosAsync(2);
        var job = await restarted.Grains.GetGrain<IIndexingJobGrain>(jobId).GetInfoAsync();
        Assert.Equal(JobStatus.Completed, job!.Status);
        Assert.Equal(records.Count, job.Processed);
        AssertMatches(expected, await SnapshotAsync(restarted));
    }

    [Fact]
    public async Task The_repositorys_swissprot_sample_indexes_with_its_over_long_proteins_skipped_and_reported()
    {
        // Two of its 100 entries (3148 and 2788 residues) are over the default limit of 2048 tokens.
        var records = await ReadSwissProtAsync();
        var limit = new InferenceOptions().MaxTokens - 2;
        var tooLong = records.Where(r => r.Sequence.Length > limit).Select(r => r.Id).ToList();
        Assert.Equal(2, tooLong.Count);
        var expected = await ExpectAsync([.. records.Where(r => r.Sequence.Length <= limit)]);
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("sprot"));
        await cluster.StartSilosAsync(2);

        var info = await cluster.WaitForJobAsync(await StartJobAsync(cluster, SwissProtSample));

        Assert.Equal(JobStatus.Completed, info.Status);
        Assert.Null(info.Error);
        Assert.Equal(100, info.Total);
        Assert.Equal(100, info.Processed);
        Assert.Equal(2, info.Skipped);
        Assert.Equal(tooLong, info.FirstSkipped!.Select(s => s.SequenceId));
        Assert.All(info.FirstSkipped!, s =>
        {
            Assert.Equal(SkipReasons.TooLong, s.Reason);
            Assert.Contains("Esmc:Inference:MaxTokens", s.Message);
            Assert.Contains("swissprot_sample.dat", s.Message);
        });
        var all = await cluster.Grains.GetGrain<ISkippedRecordsGrain>(info.Id).GetPageAsync(0, 10);
        Assert.Equal(2, all.TotalCount);
        Assert.Equal(info.FirstSkipped, all.Records);
        AssertMatches(expected, await SnapshotAsync(cluster));
    }

    [Fact]
    public async Task With_onInvalidRecord_FAIL_the_first_over_long_protein_fails_the_job_naming_it_and_the_setting()
    {
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("sprotfail"));
        await cluster.StartSilosAsync(1);
        var info = await cluster.WaitForJobAsync(await StartJobAsync(cluster, SwissProtSample, InvalidRecordPolicy.Fail));
        Assert.Equal(JobStatus.Failed, info.Status);
        var firstLong = (await ReadSwissProtAsync()).First(r => r.Sequence.Length > new InferenceOptions().MaxTokens - 2).Id;
        Assert.Contains($"'{firstLong}'", info.Error);
        Assert.Contains("Esmc:Inference:MaxTokens", info.Error);
        // Windows committed before the failure stay (their features were written); the claims of the rest were released.
        Assert.True(info.Processed < 100);
        var stats = await cluster.Grains.GetGrain<INormalizationStatsGrain>(TestEnvironment.SaeWithRealStats).GetCorpusStatisticsAsync([0]);
        Assert.Equal(info.Processed, stats.CorpusSize);
    }

    [Fact]
    public async Task With_onOverLong_WINDOW_over_long_proteins_are_indexed_from_overlapping_windows()
    {
        var records = await ReadSwissProtAsync();
        var limit = new InferenceOptions().MaxTokens - 2;
        var subset = records.Where(r => r.Sequence.Length > limit).Concat(records.Take(6)).ToList();
        var path = Path.Combine(TestEnvironment.CorpusRoot, $"esmc-long-{Guid.NewGuid():N}.fasta");
        await File.WriteAllLinesAsync(path, subset.SelectMany(r => new[] { ">" + r.Id, r.Sequence }));
        using (var encoder = TestEnvironment.OpenEncoder())
        {
            var expected = await ExpectedCorpus.ComputeAsync(encoder, TestEnvironment.SaeWithRealStats, subset, TopExamples, windowResidues: limit);
            await using var cluster = new SiloCluster(TestEnvironment.UniqueName("window"));
            await cluster.StartSilosAsync(1);

            var info = await cluster.WaitForJobAsync(await StartJobAsync(cluster, path, onOverLong: OverLongPolicy.Window));

            Assert.Equal(JobStatus.Completed, info.Status);
            Assert.Equal(0, info.Skipped);
            Assert.Equal(subset.Count, info.Processed);
            AssertMatches(expected, await SnapshotAsync(cluster));
        }
    }

    [Fact]
    public async Task A_job_over_a_missing_file_fails_naming_it_and_stores_nothing()
    {
        await using var cluster = new SiloCluster(TestEnvironment.UniqueName("bad"));
        await cluster.StartSilosAsync(1);
        var missing = Path.Combine(TestEnvironment.CorpusRoot, "no-such-corpus.fasta");
        var info = await cluster.WaitForJobAsync(await StartJobAsync(cluster, missing));
        Assert.Equal(JobStatus.Failed, info.Status);
        Assert.Contains("no-such-corpus.fasta", info.Error);
        var stats = await cluster.Grains.GetGrain<INormalizationStatsGrain>(TestEnvironment.SaeWithRealStats).GetCorpusStatisticsAsync([0]);
        Assert.Equal(0, stats.CorpusSize);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "Orleans clusters";
}
