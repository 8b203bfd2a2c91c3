using System.Net;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.TestSupport;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// importFeatureDataset and the parquet export against the real host. The imported file,
/// tests/fixtures/feature-dataset/esmc-tiny-features.parquet, was written by ParquetSharp (Arrow C++), not by Parquet.Net
/// which reads it: see the README beside it. Its idf column is ln(1,000,000 / uniref90_frequency), its max 1.5 + 0.25 * index.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FeatureDatasetImportTests(PlatformFactory platform) : IClassFixture<PlatformFactory>, IDisposable
{
    // Placeholder checkpoint statistics: normalization needs imported (or corpus) statistics.
    private const string Sae = TestEnvironment.SaeWithPlaceholderStats;
    private const string Sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDW";
    private readonly string folder = Directory.CreateDirectory(Path.Combine(TestEnvironment.CorpusRoot, TestEnvironment.UniqueName("esmc-import"))).FullName;

    public void Dispose() => TempFolders.TryDelete(folder);

    private string Fixture()
    {
        var path = Path.Combine(folder, "esmc-tiny-features.parquet");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "feature-dataset", "esmc-tiny-features.parquet"), path, overwrite: true);
        return path;
    }

    private async Task<JsonNode> ImportAsync(string path)
    {
        var job = (await platform.DataAsync("mutation($s: ID!, $p: String!) { importFeatureDataset(sae: $s, path: $p) { id kind status } }",
            new { s = Sae, p = path }, PlatformFactory.AdminKey))["importFeatureDataset"]!;
        Assert.Equal("IMPORT_FEATURE_DATASET", job["kind"]!.GetValue<string>());
        return await ApiTestHelpers.WaitForJobAsync(platform, job["id"]!.GetValue<string>());
    }

    private async Task<JsonNode> FeatureAsync(int index) =>
        (await platform.DataAsync("query($i: Int!) { feature(sae: \"" + Sae + "\", index: $i) { description { label text source status author provenance } descriptions { version } "
            + "imported { dataset file category activationPattern exemplarFamilies threshold referenceExamples { id database url } publishedNeighbors { index } } } }", new { i = index }))["feature"]!;

    private async Task<JsonNode> PooledAsync(bool normalize) =>
        (await platform.DataAsync("query($s: String!, $n: Boolean!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s, normalize: $n) { pooled { index value } } }",
            new { s = Sequence, n = normalize }))["analyzeSequence"]!["pooled"]!;

    [Fact]
    public async Task A_dataset_written_by_another_library_is_imported_searchable_used_for_normalization_and_reimports_to_nothing_new()
    {
        // Before: the placeholder statistics give no normalized values.
        var (_, refused) = await platform.PostAsync("query($s: String!) { analyzeSequence(sae: \"" + Sae + "\", sequence: $s, normalize: true) { length } }", new { s = "MKTAYIAKQR" });
        Assert.NotNull(refused["errors"]);

        var done = await ImportAsync(Fixture());

        Assert.True(done["status"]!.GetValue<string>() == "COMPLETED", done.ToJsonString());
        Assert.Equal(64, done["processed"]!.GetValue<int>());
        Assert.Equal(64, done["total"]!.GetValue<int>());

        // Descriptions: IMPORTED, PROPOSED (curators review them), label from summary, with provenance.
        var zinc = await FeatureAsync(7);
        var description = zinc["description"]!;
        Assert.Equal("C2H2 zinc finger", description["label"]!.GetValue<string>());
        Assert.StartsWith("Fires on the zinc-coordinating cysteines", description["text"]!.GetValue<string>());
        Assert.Equal("IMPORTED", description["source"]!.GetValue<string>());
        Assert.Equal("PROPOSED", description["status"]!.GetValue<string>());
        Assert.Equal("biohub/ESMC-SAE-Features", description["author"]!.GetValue<string>());
        Assert.Equal("dataset biohub/ESMC-SAE-Features, file esmc-tiny-features.parquet", description["provenance"]!.GetValue<string>());
        var imported = zinc["imported"]!;
        Assert.Equal("Composition bias", imported["category"]!.GetValue<string>());
        Assert.Equal("whole domain", imported["activationPattern"]!.GetValue<string>());
        Assert.Equal(["Zinc finger C2H2-type", "KRAB domain"], imported["exemplarFamilies"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal(0.1, imported["threshold"]!.GetValue<double>());
        var references = imported["referenceExamples"]!.AsArray();
        Assert.Contains(references, r => r!["id"]!.GetValue<string>() == "P08047" && r["database"]!.GetValue<string>() == "SWISSPROT"
            && r["url"]!.GetValue<string>() == "https://www.uniprot.org/uniprotkb/P08047/entry");
        Assert.Contains(references, r => r!["database"]!.GetValue<string>() == "UNIREF90" && r["url"]!.GetValue<string>().StartsWith("https://www.uniprot.org/uniref/UniRef90_", StringComparison.Ordinal));
        Assert.Equal([8, 12], imported["publishedNeighbors"]!.AsArray().Select(n => n!["index"]!.GetValue<int>()));

        // Search finds the descriptions and the imported fields (an exemplar family is in no description).
        var byText = await ApiTestHelpers.SearchUntilAsync(platform, "query($q: String!) { searchFeatures(query: $q, sae: \"" + Sae + "\", first: 10) { totalCount edges { node { index } } } }",
            new { q = "walker" }, r => ApiTestHelpers.Indices(r).Contains(20));
        Assert.Equal(20, ApiTestHelpers.Indices(byText)[0]);
        var byFamily = await ApiTestHelpers.SearchUntilAsync(platform, "query($q: String!) { searchFeatures(query: $q, sae: \"" + Sae + "\", first: 10) { totalCount edges { node { index } } } }",
            new { q = "KRAB" }, r => ApiTestHelpers.Indices(r).Contains(7));
        Assert.Equal([7], ApiTestHelpers.Indices(byFamily));

        // Statistics: imported, with the corpus size the frequency and idf columns imply, used to normalize.
        var sae = (await platform.DataAsync("{ saes { id normalizationSource importedStatistics { corpusSize featuresWithMax importedAt } } }"))["saes"]!.AsArray()
            .Single(s => s!["id"]!.GetValue<string>() == Sae)!;
        Assert.Equal("IMPORTED", sae["normalizationSource"]!.GetValue<string>());
        Assert.Equal(1_000_000, sae["importedStatistics"]!["corpusSize"]!.GetValue<double>());
        Assert.Equal(63, sae["importedStatistics"]!["featuresWithMax"]!.GetValue<int>());   // feature 60 has no maximum
        var raw = (await PooledAsync(false)).AsArray().ToDictionary(p => p!["index"]!.GetValue<int>(), p => p!["value"]!.GetValue<double>());
        var normalized = (await PooledAsync(true)).AsArray().ToDictionary(p => p!["index"]!.GetValue<int>(), p => p!["value"]!.GetValue<double>());
        Assert.NotEmpty(normalized);
        foreach (var (index, value) in normalized)
        {
            var max = (float)(1.5 + 0.25 * index);
            var idf = (float)Math.Log(1_000_000.0 / (50 + 37L * index));
            Assert.Equal((float)raw[index] / max * idf, value, 1e-4 * Math.Max(1, value));
        }

        // The same file again: nothing changes (no second version, statistics untouched).
        var again = await ImportAsync(Fixture());
        Assert.Equal("COMPLETED", again["status"]!.GetValue<string>());
        Assert.Single((await FeatureAsync(7))["descriptions"]!.AsArray());
        var after = (await platform.DataAsync("{ saes { id importedStatistics { importedAt } } }"))["saes"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == Sae)!;
        Assert.Equal(sae["importedStatistics"]!["importedAt"]!.GetValue<string>(), after["importedStatistics"]!["importedAt"]!.GetValue<string>());

        // The parquet export: typed columns in the JSON Lines export's order, readable, and it re-imports to the same state.
        var client = platform.CreateClient();
        var response = await client.GetAsync("/api/v1/saes/" + Sae + "/features.parquet?topExamples=3");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.apache.parquet", response.Content.Headers.ContentType!.MediaType);
        var exported = Path.Combine(folder, "export.parquet");
        await File.WriteAllBytesAsync(exported, await response.Content.ReadAsByteArrayAsync());
        await using (var stream = File.OpenRead(exported))
        {
            var table = await ParquetSerializer.DeserializeUntypedAsync(stream);
            Assert.Equal(["sae", "index", "label", "description", "status", "source", "score", "maxActivation", "documentCount", "corpusSize", "idf", "topExampleIds"],
                table.Schema.Fields.Select(f => f.Name));
            Assert.Equal(typeof(int), ((DataField)table.Schema.Fields[1]).ClrType);
            Assert.Equal(typeof(float), ((DataField)table.Schema.Fields[7]).ClrType);
            Assert.IsType<ListField>(table.Schema.Fields[11]);
            Assert.Equal(64, table.Data.Count);
            var row7 = table.Data.Single(r => (int)r["index"] == 7);
            Assert.Equal("C2H2 zinc finger", row7["label"].ToString());
            Assert.Equal("IMPORTED", row7["source"].ToString());
        }
        var reimport = await ImportAsync(exported);
        Assert.True(reimport["status"]!.GetValue<string>() == "COMPLETED", reimport.ToJsonString());
        var same = await FeatureAsync(7);
        Assert.Equal(zinc.ToJsonString(), same.ToJsonString());
        var statsAfter = (await platform.DataAsync("{ saes { id importedStatistics { importedAt corpusSize } } }"))["saes"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == Sae)!;
        Assert.Equal(sae["importedStatistics"]!["importedAt"]!.GetValue<string>(), statsAfter["importedStatistics"]!["importedAt"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bad_files_and_callers_are_refused_with_what_was_found()
    {
        // A file without a feature index column: the job fails, naming the columns the file has.
        var noIndex = Path.Combine(folder, "no-index.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new NoIndexRow { Description = "x", Category = "y" } }, noIndex);
        var failed = await ImportAsync(noIndex);
        Assert.Equal("FAILED", failed["status"]!.GetValue<string>());
        var error = failed["error"]!.GetValue<string>();
        Assert.Contains("no feature index column", error);
        Assert.Contains("Description, Category", error);

        // Out-of-range index: the row is named.
        var outside = Path.Combine(folder, "outside.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new IndexedRow { feature_index = 5000, description = "too far" } }, outside);
        var refusedRow = await ImportAsync(outside);
        Assert.Equal("FAILED", refusedRow["status"]!.GetValue<string>());
        Assert.Contains("feature index 5000 is outside the SAE's codebook of 64", refusedRow["error"]!.GetValue<string>());

        var (_, missing) = await platform.PostAsync("mutation { importFeatureDataset(sae: \"" + Sae + "\", path: \"/nowhere/at/all.parquet\") { id } }", key: PlatformFactory.AdminKey);
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(missing));
        var (_, curator) = await platform.PostAsync("mutation { importFeatureDataset(sae: \"" + Sae + "\", path: \"" + noIndex + "\") { id } }", key: PlatformFactory.CuratorKey);
        Assert.Equal("FORBIDDEN", PlatformFactory.ErrorCode(curator));
    }

    private sealed class NoIndexRow
    {
        public string? Description { get; set; }
        public string? Category { get; set; }
    }

    private sealed class IndexedRow
    {
#pragma warning disable IDE1006 // the dataset's column names
        public long feature_index { get; set; }
        public string? description { get; set; }
#pragma warning restore IDE1006
    }
}
