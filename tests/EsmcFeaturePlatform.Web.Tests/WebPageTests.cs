using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Xunit;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>The web page end to end: Debian's chromium against the real server; numbers checked against the API.</summary>
[Collection(WebCollection.Name)]
public sealed class WebPageTests(WebPlatform platform)
{
    private const string Sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAGRTSAAKSTLAHKATHELRALGYELL";

    private async Task<IPage> OpenAsync(string hash)
    {
        var page = await platform.NewPageAsync();
        // Without a stored choice the page picks the first SAE with statistics, which depends on what other tests have
        // indexed or imported into the tiny model's other SAE by then: pin the SAE these tests mean.
        await page.Context.AddInitScriptAsync($"localStorage.setItem('esmc.sae', {JsonSerializer.Serialize(WebPlatform.Sae)})");
        await page.GotoAsync(platform.BaseUrl + "/" + hash);
        await page.WaitForFunctionAsync("() => window.esmc && window.esmc.ready === true");
        return page;
    }

    private static async Task WaitReadyAsync(IPage page, string selector) =>
        await page.Locator(selector + "[data-ready=true]").WaitForAsync();

    [Fact]
    public async Task Analyze_draws_one_track_per_top_feature_with_the_APIs_values()
    {
        var page = await OpenAsync("#/analyze");
        await page.SelectOptionAsync("#sae", WebPlatform.Sae);
        await page.FillAsync("#seq", ">test_protein a test\n" + Sequence[..120]);
        await page.ClickAsync("#run");
        await WaitReadyAsync(page, "#result");

        var api = (await platform.DataAsync(
            "query($sae: ID!, $s: String!) { analyzeSequence(sae: $sae, sequence: $s) { length residues { index value } pooled { index value } } }",
            new { sae = WebPlatform.Sae, s = Sequence[..120] }))["analyzeSequence"]!;
        var tracks = JsonNode.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.esmc.tracks())"))!.AsArray();
        Assert.NotEmpty(tracks);
        var pooledTop = api["pooled"]!.AsArray().Select(p => (Index: p!["index"]!.GetValue<int>(), Value: p["value"]!.GetValue<double>()))
            .OrderByDescending(p => p.Value).ThenBy(p => p.Index).Select(p => p.Index).Distinct().Take(20).ToList();
        Assert.Equal(pooledTop, tracks.Select(t => t!["index"]!.GetValue<int>()).ToList());
        var residues = api["residues"]!.AsArray();
        Assert.Equal(120, api["length"]!.GetValue<int>());
        for (var row = 0; row < tracks.Count; row++)
        {
            var track = tracks[row]!;
            var index = track["index"]!.GetValue<int>();
            var values = track["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(120, values.Length);
            for (var r = 0; r < residues.Count; r++)
            {
                var expected = residues[r]!.AsArray().FirstOrDefault(f => f!["index"]!.GetValue<int>() == index)?["value"]!.GetValue<double>() ?? 0;
                Assert.Equal(expected, values[r], 6);
            }
            // The canvas holds the colour of each value: the track's maximum is drawn darkest, zero as white.
            var peak = Array.IndexOf(values, values.Max()) + 1;
            var pixel = await page.EvaluateAsync<int[]>($"() => window.esmc.pixel({row}, {peak})");
            Assert.Equal(new[] { 8, 48, 107 }, pixel);
            var zero = Array.FindIndex(values, v => v == 0);
            if (zero >= 0) Assert.Equal(new[] { 255, 255, 255 }, await page.EvaluateAsync<int[]>($"() => window.esmc.pixel({row}, {zero + 1})"));
        }
        // Hovering shows the exact value of the residue under the pointer.
        var first = tracks[0]!;
        var firstValues = first["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var firstPeak = Array.IndexOf(firstValues, firstValues.Max());
        var box = (await page.Locator("#tracks canvas").BoundingBoxAsync())!;
        await page.Locator("#tracks canvas").ScrollIntoViewIfNeededAsync();
        await page.Locator("#tracks canvas").HoverAsync(new LocatorHoverOptions { Position = new Position { X = firstPeak * 12 + 6, Y = 30 + 9 } });
        var tip = await page.Locator("#tooltip").TextContentAsync();
        Assert.Contains($"residue {firstPeak + 1} {Sequence[firstPeak]}", tip);
        Assert.True(box.Width > 0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("analyze.png"), FullPage = true });

        // Normalized values, when the SAE has statistics, are the API's normalized numbers.
        var hasStats = (await platform.DataAsync("{ saes { id hasNormalizationStats } }"))["saes"]!.AsArray()
            .Single(s => s!["id"]!.GetValue<string>() == WebPlatform.Sae)!["hasNormalizationStats"]!.GetValue<bool>();
        if (hasStats)
        {
            await page.CheckAsync("#mode-norm");
            await page.Locator("#result[data-mode=norm]").WaitForAsync();
            var norm = (await platform.DataAsync(
                "query($sae: ID!, $s: String!) { analyzeSequence(sae: $sae, sequence: $s, normalize: true) { residues { index value } } }",
                new { sae = WebPlatform.Sae, s = Sequence[..120] }))["analyzeSequence"]!["residues"]!.AsArray();
            // The legend says which statistics normalized the values, as the API reports them.
            var source = (await platform.DataAsync(
                "query($sae: ID!, $s: String!) { analyzeSequence(sae: $sae, sequence: $s, normalize: true) { normalization { source } } }",
                new { sae = WebPlatform.Sae, s = Sequence[..120] }))["analyzeSequence"]!["normalization"]!["source"]!.GetValue<string>();
            Assert.Contains($"{source.ToLowerInvariant()} statistics", await page.Locator("#legend-text").TextContentAsync());
            var normTracks = JsonNode.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.esmc.tracks())"))!.AsArray();
            foreach (var track in normTracks)
            {
                var index = track!["index"]!.GetValue<int>();
                var values = track["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                for (var r = 0; r < norm.Count; r++)
                    Assert.Equal(norm[r]!.AsArray().FirstOrDefault(f => f!["index"]!.GetValue<int>() == index)?["value"]!.GetValue<double>() ?? 0, values[r], 6);
            }
            // Drawn as normalized values: one scale for every track (the largest value shown), so each cell's colour
            // is its normalized value over that scale, and a track whose normalized peak is lower is drawn lighter.
            var all = normTracks.SelectMany(t => t!["values"]!.AsArray().Select(v => v!.GetValue<double>())).ToArray();
            Assert.All(normTracks, t => Assert.Equal(all.Max(), t!["scale"]!.GetValue<double>(), 9));
            var lighter = 0;
            for (var row = 0; row < normTracks.Count; row++)
            {
                var values = normTracks[row]!["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                var peak = Array.IndexOf(values, values.Max()) + 1;
                var t = values.Max() / all.Max();
                int[] want = [(int)Math.Round(255 + (8 - 255) * t), (int)Math.Round(255 + (48 - 255) * t), (int)Math.Round(255 + (107 - 255) * t)];
                var got = await page.EvaluateAsync<int[]>($"() => window.esmc.pixel({row}, {peak})");
                for (var c = 0; c < 3; c++) Assert.InRange(got[c], want[c] - 1, want[c] + 1);
                if (!got.SequenceEqual(new[] { 8, 48, 107 })) lighter++;
            }
            Assert.True(lighter > 0, "every normalized track is drawn as dark as the raw one: the toggle changes nothing");
        }

        // A bad sequence is refused plainly, by the API's one input rule (the page no longer has its own).
        await page.FillAsync("#seq", "MKT1AY");
        await page.ClickAsync("#run");
        await page.Locator("#status .error").WaitForAsync();
        Assert.Contains("'1' at position 4", await page.Locator("#status .error").TextContentAsync());
    }

    [Fact]
    public async Task Lower_case_input_shows_the_features_the_API_gives_for_the_same_text_and_nucleotides_get_a_warning()
    {
        var page = await OpenAsync("#/analyze");
        await page.SelectOptionAsync("#sae", WebPlatform.Sae);
        var lower = Sequence[..60].ToLowerInvariant();
        await page.FillAsync("#seq", lower);
        await page.ClickAsync("#run");
        await WaitReadyAsync(page, "#result");

        // The API, sent the very same lower-case text, upper-cases it: the page draws exactly those numbers.
        var api = (await platform.DataAsync(
            "query($sae: ID!, $s: String!) { analyzeSequence(sae: $sae, sequence: $s) { sequence residues { index value } } }",
            new { sae = WebPlatform.Sae, s = lower }))["analyzeSequence"]!;
        Assert.Equal(Sequence[..60], api["sequence"]!.GetValue<string>());
        var residues = api["residues"]!.AsArray();
        var tracks = JsonNode.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.esmc.tracks())"))!.AsArray();
        Assert.NotEmpty(tracks);
        foreach (var track in tracks)
        {
            var index = track!["index"]!.GetValue<int>();
            var values = track["values"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            for (var r = 0; r < residues.Count; r++)
                Assert.Equal(residues[r]!.AsArray().FirstOrDefault(f => f!["index"]!.GetValue<int>() == index)?["value"]!.GetValue<double>() ?? 0, values[r], 6);
        }

        // A nucleotide sequence is analyzed (A, C, G, T are amino acids too) but the page says what it looks like.
        await page.FillAsync("#seq", "ACGTTGCAACGTAGCTAGCTAGGA");
        await page.ClickAsync("#run");
        var warning = page.Locator("#status .notice", new PageLocatorOptions { HasText = "nucleotide" });
        await warning.WaitForAsync();
        Assert.Contains("looks like a nucleotide sequence", await warning.TextContentAsync());
    }

    [Fact]
    public async Task A_screened_search_shows_a_plain_refusal_that_does_not_say_what_matched()
    {
        // Keyword screening is on by default (the shipped list); the page explains SCREENED in plain words.
        var page = await OpenAsync("#/search?q=" + Uri.EscapeDataString("Ricin A-chain"));
        var error = page.Locator("#hits .error[data-code=SCREENED]");
        await error.WaitForAsync();
        var text = await error.TextContentAsync();
        Assert.Contains("biosecurity screening", text);
        Assert.DoesNotContain("icin", text);
    }

    [Fact]
    public async Task Clicking_a_feature_opens_its_page_with_stats_and_top_examples_marked_at_their_peaks()
    {
        var page = await OpenAsync("#/analyze");
        await page.SelectOptionAsync("#sae", WebPlatform.Sae);
        var example = platform.Corpus[0].Sequence;
        await page.FillAsync("#seq", example);
        await page.ClickAsync("#run");
        await WaitReadyAsync(page, "#result");
        var link = page.Locator(".track-labels a").First;
        var index = int.Parse((await link.GetAttributeAsync("data-feature-index"))!);
        await link.ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('main').dataset.page === 'feature'");
        await WaitReadyAsync(page, "#feature");
        Assert.Contains($"index={index}", page.Url);
        Assert.StartsWith($"#{index}", (await page.Locator("#feature-title").TextContentAsync())!.Trim());

        var api = (await platform.DataAsync(
            "query($sae: ID!, $i: Int!) { feature(sae: $sae, index: $i) { stats { maxActivation documentCount corpusSize } topExamples(first: 10) { sequenceId position } } }",
            new { sae = WebPlatform.Sae, i = index }))["feature"]!;
        Assert.Contains($"{api["stats"]!["documentCount"]!.GetValue<int>()} of {api["stats"]!["corpusSize"]!.GetValue<int>()} proteins",
            await page.Locator("[data-stat=documentCount]").TextContentAsync());
        var examples = api["topExamples"]!.AsArray();
        Assert.NotEmpty(examples);   // the analyzed protein is in the corpus, so its top feature is active there
        var drawn = page.Locator("#examples .example");
        Assert.Equal(examples.Count, await drawn.CountAsync());
        for (var i = 0; i < examples.Count; i++)
        {
            Assert.Equal(examples[i]!["sequenceId"]!.GetValue<string>(), await drawn.Nth(i).GetAttributeAsync("data-sequence-id"));
            Assert.Equal(examples[i]!["position"]!.GetValue<int>().ToString(), await drawn.Nth(i).GetAttributeAsync("data-peak"));
        }

        // Nearest features by decoder cosine: the API's list, in its order, each a link to that feature.
        var neighbours = (await platform.DataAsync("query($sae: ID!, $i: Int!) { feature(sae: $sae, index: $i) { nearestFeatures(first: 10) { index cosine } } }",
            new { sae = WebPlatform.Sae, i = index }))["feature"]!["nearestFeatures"]!.AsArray();
        Assert.NotEmpty(neighbours);
        var rows = page.Locator("#neighbours tr.neighbour");
        Assert.Equal(neighbours.Count, await rows.CountAsync());
        for (var i = 0; i < neighbours.Count; i++)
        {
            var n = neighbours[i]!["index"]!.GetValue<int>();
            Assert.Equal(n.ToString(), await rows.Nth(i).GetAttributeAsync("data-feature-index"));
            Assert.Equal(neighbours[i]!["cosine"]!.GetValue<double>(), double.Parse((await rows.Nth(i).GetAttributeAsync("data-cosine"))!, System.Globalization.CultureInfo.InvariantCulture), 9);
            Assert.EndsWith($"index={n}", await rows.Nth(i).Locator("a").GetAttributeAsync("href"));
        }

        // Enriched annotations: the API's terms, in its order (none for this FASTA corpus: then the page says why).
        var enrichment = (await platform.DataAsync("query($sae: ID!, $i: Int!) { feature(sae: $sae, index: $i) { annotationEnrichment(first: 10) { term f1 } } }",
            new { sae = WebPlatform.Sae, i = index }))["feature"]!["annotationEnrichment"]!.AsArray();
        var terms = await page.Locator("#enrichment tr.enriched").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.term)");
        Assert.Equal(enrichment.Select(e => e!["term"]!.GetValue<string>()).ToArray(), terms);
        if (enrichment.Count == 0) Assert.Contains("no UniProt annotations", await page.Locator("#enrichment-none").TextContentAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("feature.png"), FullPage = true });

        // The URL is shareable: a fresh page opened at it shows the same feature.
        var again = await OpenAsync(new Uri(page.Url).Fragment);
        await WaitReadyAsync(again, "#feature");
        Assert.StartsWith($"#{index}", (await again.Locator("#feature-title").TextContentAsync())!.Trim());
    }

    [Fact]
    public async Task A_feature_of_a_Swiss_Prot_corpus_shows_the_APIs_enriched_annotations()
    {
        // The first 16 real Swiss-Prot entries (feature tables, keywords) indexed into the tiny model's other SAE.
        const string sae = WebPlatform.StatesRepo + "/layer1";
        var lines = new List<string>();
        var entries = 0;
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "fixtures", "uniprot", "swissprot_sample.dat")))
        {
            lines.Add(line);
            if (line.StartsWith("//", StringComparison.Ordinal) && ++entries == 16) break;
        }
        var corpus = Path.Combine(Path.GetTempPath(), $"esmc-web-uniprot-{Guid.NewGuid():N}.dat");
        await File.WriteAllLinesAsync(corpus, lines);
        await platform.IndexAsync(sae, corpus);

        var features = await platform.DataAsync("query($sae: ID!) { " + string.Join(' ', Enumerable.Range(0, 64).Select(i =>
            $"f{i}: feature(sae: $sae, index: {i}) {{ index annotationEnrichment(first: 10) {{ term truePositives f1 }} topExamples(first: 10) {{ sequenceId proteinName position }} "
            + "activationHistogram(bins: 20) { sampleSize bins { count } } }")) + " }", new { sae });
        // A feature with enriched terms whose examples include a peak far beyond the first screen of its track.
        var feature = Enumerable.Range(0, 64).Select(i => features[$"f{i}"]!).Where(f => f["annotationEnrichment"]!.AsArray().Count > 0)
            .MaxBy(f => f["topExamples"]!.AsArray().Max(e => e!["position"]!.GetValue<int>()))!;
        Assert.True(feature["topExamples"]!.AsArray().Max(e => e!["position"]!.GetValue<int>()) > 150, "no example peaks beyond the first screen");
        var expected = feature["annotationEnrichment"]!.AsArray();
        Assert.NotEmpty(expected);

        var page = await OpenAsync($"#/feature?sae={Uri.EscapeDataString(sae)}&index={feature["index"]!.GetValue<int>()}");
        await WaitReadyAsync(page, "#feature");
        var rows = page.Locator("#enrichment tr.enriched");
        Assert.Equal(expected.Count, await rows.CountAsync());
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i]!["term"]!.GetValue<string>(), await rows.Nth(i).GetAttributeAsync("data-term"));
            Assert.Equal(expected[i]!["f1"]!.GetValue<double>(), double.Parse((await rows.Nth(i).GetAttributeAsync("data-f1"))!, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(expected[i]!["truePositives"]!.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture), (await rows.Nth(i).Locator("td").Nth(1).TextContentAsync())!.Trim());
        }
        Assert.Equal(0, await page.Locator("#enrichment-none").CountAsync());

        // Each example: the protein's name, a link to its UniProt entry (the ids are accessions), its track scrolled to its peak.
        var examples = feature["topExamples"]!.AsArray();
        var drawn = page.Locator("#examples .example");
        Assert.Equal(examples.Count, await drawn.CountAsync());
        for (var i = 0; i < examples.Count; i++)
        {
            var id = examples[i]!["sequenceId"]!.GetValue<string>();
            var name = examples[i]!["proteinName"]?.GetValue<string>();
            Assert.False(string.IsNullOrEmpty(name), $"{id} has no protein name in the API");
            var example = drawn.Nth(i);
            Assert.Equal(name, (await example.Locator(".protein-name").TextContentAsync())!.Trim());
            Assert.Equal($"https://www.uniprot.org/uniprotkb/{id}/entry", await example.Locator("a.uniprot").GetAttributeAsync("href"));
            var peak = examples[i]!["position"]!.GetValue<int>();
            var view = JsonNode.Parse(await example.Locator(".track-scroll").EvaluateAsync<string>("e => JSON.stringify({ left: e.scrollLeft, width: e.clientWidth })"))!;
            var left = view["left"]!.GetValue<double>();
            var width = view["width"]!.GetValue<double>();
            Assert.True(width > 0);
            Assert.True((peak - 1) * 12 >= left && peak * 12 <= left + width, $"example {id}: peak residue {peak} is outside the view [{left}, {left + width}) px");
        }

        // The activation histogram: the API's bins, one bar each.
        var bins = feature["activationHistogram"]!["bins"]!.AsArray().Select(b => b!["count"]!.GetValue<int>()).ToArray();
        Assert.True(feature["activationHistogram"]!["sampleSize"]!.GetValue<int>() > 0);
        Assert.Equal(bins.Sum(), feature["activationHistogram"]!["sampleSize"]!.GetValue<int>());
        var bars = await page.Locator("#histogram rect.bar").EvaluateAllAsync<int[]>("bars => bars.map(b => Number(b.dataset.count))");
        Assert.Equal(bins, bars);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("feature-uniprot.png"), FullPage = true });
    }

    [Fact]
    public async Task Every_page_of_a_demo_model_SAE_says_its_weights_are_random()
    {
        var demo = platform.DemoSaes[0];
        var page = await OpenAsync("#/analyze");
        Assert.True(await page.Locator("#demo-notice").IsHiddenAsync());   // the tiny golden model is the default: no banner
        await page.SelectOptionAsync("#sae", demo);
        foreach (var hash in new[] { "#/analyze", "#/feature?index=1", "#/search", "#/curate", "#/structure" })
        {
            await page.EvaluateAsync($"h => {{ location.hash = h; }}", hash);
            await page.WaitForFunctionAsync("() => document.querySelector('main').dataset.ready === 'true'");
            Assert.True(await page.Locator("#demo-notice").IsVisibleAsync(), $"no demo notice on {hash}");
            Assert.Contains("random demo weights: features carry no biological meaning", await page.Locator("#demo-notice").TextContentAsync());
        }
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("demo-notice.png"), FullPage = true });
        // A feature page opened by link (its SAE in the URL) says it too, in the page itself.
        var direct = await OpenAsync($"#/feature?sae={Uri.EscapeDataString(demo)}&index=2");
        await WaitReadyAsync(direct, "#feature");
        Assert.Contains("random demo weights", await direct.Locator("#feature-notice").TextContentAsync());
    }

    [Fact]
    public async Task Opening_graphql_in_a_fresh_browser_shows_the_IDE_whose_example_runs_on_the_first_click()
    {
        // A fresh browser: no SAE chosen before, nothing in storage; the address a person would type.
        var page = await platform.NewPageAsync();
        var response = await page.GotoAsync(platform.BaseUrl + "/graphql");
        Assert.Equal(200, response!.Status);
        Assert.EndsWith("/graphiql.html", new Uri(page.Url).AbsolutePath);
        await page.Locator("#ide[data-state=ready] .graphiql-query-editor .CodeMirror").WaitForAsync();
        await page.ClickAsync(".graphiql-execute-button");
        var shown = JsonNode.Parse(await (await page.WaitForFunctionAsync(@"() => {
            const cm = document.querySelector('.result-window .CodeMirror')?.CodeMirror;
            const text = cm ? cm.getValue() : '';
            return text.includes('""data""') || text.includes('""errors""') ? text : null;
        }", null, new PageWaitForFunctionOptions { Timeout = 20000 })).JsonValueAsync<string>())!;
        Assert.True(shown["errors"] is null, shown.ToJsonString());
        Assert.NotNull(shown["data"]!["feature"]);
        Assert.NotEmpty(shown["data"]!["saes"]!.AsArray());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("graphiql-first-click.png"), FullPage = true });

        // A program's GET (no text/html) is told how to call the API.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/graphql");
        request.Headers.Accept.ParseAdd("application/json");
        using var api = await platform.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, api.StatusCode);
        Assert.Contains("POST /graphql", await api.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_feature_imported_from_a_published_dataset_shows_its_reference_proteins_with_links_and_the_published_neighbours()
    {
        const string sae = WebPlatform.StatesRepo + "/layer1";
        var file = Path.Combine(Path.GetTempPath(), $"esmc-web-dataset-{Guid.NewGuid():N}.parquet");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "feature-dataset", "esmc-tiny-features.parquet"), file);
        var id = (await platform.DataAsync("mutation($s: ID!, $p: String!) { importFeatureDataset(sae: $s, path: $p) { id } }", new { s = sae, p = file }, WebPlatform.AdminKey))
            ["importFeatureDataset"]!["id"]!.GetValue<string>();
        string status;
        var deadline = DateTime.UtcNow.AddMinutes(2);   // guards against a hang; not a performance threshold
        do
        {
            await Task.Delay(200);
            status = (await platform.DataAsync("query($id: ID!) { job(id: $id) { status } }", new { id }))["job"]!["status"]!.GetValue<string>();
        } while (status is "QUEUED" or "RUNNING" && DateTime.UtcNow < deadline);
        Assert.Equal("COMPLETED", status);

        var page = await OpenAsync($"#/feature?sae={Uri.EscapeDataString(sae)}&index=7");
        await WaitReadyAsync(page, "#feature");
        Assert.Contains("C2H2 zinc finger", await page.Locator("#feature-title").TextContentAsync());
        Assert.Contains(Path.GetFileName(file), await page.Locator("#provenance").TextContentAsync());
        var links = page.Locator("#reference-examples a");
        Assert.Equal(4, await links.CountAsync());
        var swissProt = page.Locator("#reference-examples li[data-database=SWISSPROT] a").First;
        Assert.Equal("P08047", (await swissProt.TextContentAsync())!.Trim());
        Assert.Equal("https://www.uniprot.org/uniprotkb/P08047/entry", await swissProt.GetAttributeAsync("href"));
        Assert.Equal("noopener noreferrer", await swissProt.GetAttributeAsync("rel"));
        var neighbours = page.Locator("#published-neighbours tr.published-neighbour");
        Assert.Equal(["8", "12"], await neighbours.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.featureIndex)"));
        Assert.Contains("Transmembrane helix core", await neighbours.Nth(1).TextContentAsync());
        Assert.Contains("KRAB domain", await page.Locator("#imported").TextContentAsync());
        File.Delete(file);
    }

    /// <summary>1hpv.pdb drawn: all 99 residues of chain A carry the colour of their activation, and not all the same one.</summary>
    private static async Task AssertChainAColouredByActivationAsync(IPage page)
    {
        var result = JsonNode.Parse(await page.EvaluateAsync<string>(@"() => {
            const s = window.esmc.structure, out = [];
            for (let resi = 1; resi <= s.residues; resi++) out.push({ resi, got: s.residueColour(resi), want: s.expected(resi) });
            return JSON.stringify({ chain: s.chain, coloured: s.coloured, residues: s.residues, out });
        }"))!;
        Assert.Equal("A", result["chain"]!.GetValue<string>());
        Assert.Equal(99, result["residues"]!.GetValue<int>());
        Assert.Equal(99, result["coloured"]!.GetValue<int>());
        var colours = result["out"]!.AsArray();
        foreach (var c in colours) Assert.Equal(c!["want"]!.GetValue<string>(), c["got"]!.GetValue<string>());
        Assert.True(colours.Select(c => c!["got"]!.GetValue<string>()).Distinct().Count() > 1, "more than one colour on the chain");
    }

    [Fact]
    public async Task A_real_PDB_file_is_coloured_by_a_features_activation_per_residue()
    {
        var page = await OpenAsync("#/structure");
        await page.SelectOptionAsync("#sae", WebPlatform.Sae);
        await page.WaitForFunctionAsync("() => document.querySelector('main').dataset.page === 'structure' && document.querySelector('#file:not([disabled])')");
        await page.SetInputFilesAsync("#file", Path.Combine(AppContext.BaseDirectory, "fixtures", "pdb", "1hpv.pdb"));
        await page.Locator("#viewer[data-coloured]").WaitForAsync();
        await AssertChainAColouredByActivationAsync(page);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("structure.png"), FullPage = true });

        // A file whose sequence differs from the analyzed protein is said to, plainly.
        var mismatch = await OpenAsync("#/analyze");
        await mismatch.FillAsync("#seq", Sequence[..60]);
        await mismatch.ClickAsync("#run");
        await WaitReadyAsync(mismatch, "#result");
        await mismatch.EvaluateAsync("() => { location.hash = '#/structure'; }");
        await mismatch.WaitForFunctionAsync("() => document.querySelector('main').dataset.page === 'structure' && document.querySelector('#file:not([disabled])')");
        await mismatch.SetInputFilesAsync("#file", Path.Combine(AppContext.BaseDirectory, "fixtures", "pdb", "1hpv.pdb"));
        await mismatch.Locator("#viewer[data-coloured]").WaitForAsync();
        Assert.Contains("does not match", await mismatch.Locator("#status").TextContentAsync());
    }

    [Fact]
    public async Task A_model_fetched_from_AlphaFold_DB_by_UniProt_id_is_coloured_and_bad_ids_and_failures_are_said_plainly()
    {
        var page = await OpenAsync("#/structure");
        await page.SelectOptionAsync("#sae", WebPlatform.Sae);
        await page.WaitForFunctionAsync("() => document.querySelector('main').dataset.page === 'structure' && document.querySelector('#af-go:not([disabled])')");

        // Not an accession: refused in the page, nothing asked of the server.
        var before = platform.AlphaFold.Requests.Values.Sum();
        await page.FillAsync("#af-id", "1HPV");
        await page.ClickAsync("#af-go");
        Assert.Contains("'1HPV' is not a UniProt accession", await page.Locator("#status .error").TextContentAsync());
        // An accession AlphaFold DB does not have, and AlphaFold DB down: the server's messages, shown as they are.
        await page.FillAsync("#af-id", FakeAlphaFold.Unknown);
        await page.ClickAsync("#af-go");
        await page.Locator("#status .error[data-code=NOT_FOUND]").WaitForAsync();
        Assert.Contains($"no prediction for UniProt accession {FakeAlphaFold.Unknown}", await page.Locator("#status").TextContentAsync());
        await page.FillAsync("#af-id", FakeAlphaFold.Failing);
        await page.ClickAsync("#af-go");
        await page.Locator("#status .error[data-code=UPSTREAM_UNAVAILABLE]").WaitForAsync();
        Assert.Contains("answered HTTP 503", await page.Locator("#status").TextContentAsync());
        Assert.Equal(0, platform.AlphaFold.Count("/api/prediction/1HPV"));
        Assert.True(platform.AlphaFold.Requests.Values.Sum() - before >= 2, "the two valid accessions went to AlphaFold DB");

        // A known accession: the model (the real 1hpv.pdb) is drawn and every residue of chain A coloured by its value.
        await page.FillAsync("#af-id", FakeAlphaFold.Known);
        await page.PressAsync("#af-id", "Enter");   // the keyboard works as well as the button
        await page.Locator("#viewer[data-coloured]").WaitForAsync();
        await AssertChainAColouredByActivationAsync(page);
        Assert.True(platform.AlphaFold.Count($"/files/AF-{FakeAlphaFold.Known}-F1-model_v4.pdb") >= 1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("structure-alphafold.png"), FullPage = true });
    }

    [Fact]
    public async Task Search_finds_a_description_and_curation_shows_refusals_and_conflicts()
    {
        var page = await OpenAsync("#/analyze");
        var caps = await page.EvaluateAsync<string[]>("() => window.esmc.caps.query");
        Assert.Contains("searchFeatures", caps);   // the page must have discovered the search and curation API
        Assert.Contains("reviewQueue", caps);

        const int index = 7;
        var word = "webtestzincribbon";
        await platform.DataAsync("mutation($sae: ID!, $i: Int!, $l: String!, $t: String!) { proposeDescription(sae: $sae, index: $i, label: $l, text: $t) { version } }",
            new { sae = WebPlatform.Sae, i = index, l = "Zinc ribbon " + word, t = $"Fires on cysteines of a {word} motif." }, WebPlatform.CuratorKey);

        // Search (the index follows the grains; reload until the new description is searchable).
        IPage search = page;
        for (var attempt = 0; ; attempt++)
        {
            search = await OpenAsync($"#/search?q={word}");
            await WaitReadyAsync(search, "#hits");
            if (await search.Locator($".hit[data-feature-index='{index}']").CountAsync() > 0) break;
            Assert.True(attempt < 60, "the proposed description never became searchable");
            await search.Context.CloseAsync();
            await Task.Delay(1000);
        }
        Assert.True(await search.Locator($".hit[data-feature-index='{index}'] mark").CountAsync() > 0, "the hit highlights the searched word");
        await search.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("search.png"), FullPage = true });

        // Curate without a key: the queue reads, the action is refused and said so.
        var curate = await OpenAsync("#/curate");
        await WaitReadyAsync(curate, "#queue");
        var item = curate.Locator($".queue-item[data-feature-index='{index}']");
        await item.Locator(".pending[data-version='1'] button[data-act=APPROVE]").ClickAsync();
        await item.Locator(".pending[data-version='1'] .status .error[data-code=UNAUTHENTICATED]").WaitForAsync();

        // With a key (dave: carol proposed), an edit against a version someone else has since replaced is a conflict
        // that names the version now in place.
        await curate.FillAsync("#key-form input[name=key]", WebPlatform.SecondCuratorKey);
        await curate.ClickAsync("#key-form button");
        await platform.DataAsync("mutation($sae: ID!, $i: Int!) { proposeDescription(sae: $sae, index: $i, label: \"Someone else\", text: \"A concurrent edit.\") { version } }",
            new { sae = WebPlatform.Sae, i = index }, WebPlatform.CuratorKey);
        await item.Locator("button[data-act=edit]").ClickAsync();
        await item.Locator("form.edit input[name=label]").FillAsync("My edit " + word);
        await item.Locator("form.edit button").ClickAsync();
        await item.Locator(".edit-status .error[data-code=CONFLICT]").WaitForAsync();
        Assert.Contains("is at version 2", await item.Locator(".edit-status").TextContentAsync());

        // Reload: both proposals wait for review, each with its own buttons; the latest is approved with the key.
        await curate.ClickAsync("#reload");
        await WaitReadyAsync(curate, "#queue");
        var latest = curate.Locator($".queue-item[data-feature-index='{index}']");
        Assert.Equal(2, await latest.Locator(".pending").CountAsync());
        var v2 = latest.Locator(".pending[data-version='2']");
        await v2.Locator("button[data-act=APPROVE]").ClickAsync();
        await v2.Locator(".status .ok").WaitForAsync();
        Assert.Contains("dave", await v2.Locator(".status").TextContentAsync());
        var status = (await platform.DataAsync("query($sae: ID!, $i: Int!) { feature(sae: $sae, index: $i) { description { status label reviewer } } }",
            new { sae = WebPlatform.Sae, i = index }))["feature"]!["description"]!;
        Assert.Equal("APPROVED", status["status"]!.GetValue<string>());
        Assert.Equal("Someone else", status["label"]!.GetValue<string>());
        Assert.Equal("dave", status["reviewer"]!.GetValue<string>());

        // Approving again says who approved it (its real cause), not that someone saved a newer version.
        await v2.Locator("button[data-act=APPROVE]").ClickAsync();
        await v2.Locator(".status .error[data-code=CONFLICT]").WaitForAsync();
        var again = await v2.Locator(".status").TextContentAsync();
        Assert.Contains("already APPROVED by 'dave'", again);
        Assert.DoesNotContain("newer version", again);
        await curate.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("curate.png"), FullPage = true });

        // The older proposal is still in the queue after the newer one was approved.
        await curate.ClickAsync("#reload");
        await WaitReadyAsync(curate, "#queue");
        Assert.Equal(new[] { "1" }, await curate.Locator($".queue-item[data-feature-index='{index}'] .pending").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.version)"));
    }

    [Fact]
    public async Task The_GraphQL_IDE_runs_a_query_typed_into_it()
    {
        var page = await OpenAsync("#/console");
        var frame = await (await page.Locator("#ide-frame").ElementHandleAsync())!.ContentFrameAsync();
        Assert.NotNull(frame);
        await frame!.Locator("#ide[data-state=ready] .graphiql-query-editor .CodeMirror").WaitForAsync();
        const string query = "{ saes { id layer codebookSize } }";
        await frame.EvaluateAsync("q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)", query);
        await frame.ClickAsync(".graphiql-execute-button");
        IJSHandle response;
        try
        {
            response = await frame.WaitForFunctionAsync(@"() => {
            const cm = document.querySelector('.result-window .CodeMirror')?.CodeMirror;
            const text = cm ? cm.getValue() : '';
            return text.includes('codebookSize') ? text : null;
        }", null, new FrameWaitForFunctionOptions { Timeout = 20000 });
        }
        catch (TimeoutException)
        {
            // Say what the IDE shows instead (the response pane, the query it holds).
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("graphiql-failed.png"), FullPage = true });
            throw new Xunit.Sdk.XunitException("The IDE showed no result: " + await frame.EvaluateAsync<string>(
                "() => document.querySelector('.graphiql-container').innerText + ' | query: ' + document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()"));
        }
        var shown = JsonNode.Parse(await response.JsonValueAsync<string>())!;
        var api = await platform.DataAsync(query);
        Assert.Equal(api["saes"]!.ToJsonString(), shown["data"]!["saes"]!.ToJsonString());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath("graphiql.png"), FullPage = true });
    }

    [Fact]
    public async Task Without_the_IDEs_npm_files_the_page_says_so_and_the_simple_console_still_runs_a_query()
    {
        var page = await platform.NewPageAsync();
        // As on a server built without `npm ci`: the vendored graphiql files are not there.
        await page.RouteAsync("**/vendor/graphiql/**", route => route.FulfillAsync(new RouteFulfillOptions { Status = 404, Body = "" }));
        await page.GotoAsync(platform.BaseUrl + "/#/console");
        await page.WaitForFunctionAsync("() => window.esmc && window.esmc.ready === true");
        Assert.Contains("npm ci", await page.Locator("#ide-missing").TextContentAsync());
        await page.ClickAsync("#go");
        await page.Locator("#out[data-ready=true]").WaitForAsync();
        var json = JsonNode.Parse((await page.Locator("#out").TextContentAsync())!)!;
        Assert.True(json["errors"] is null, json.ToJsonString());
        Assert.NotEmpty(json["data"]!["saes"]!.AsArray());

        await page.GotoAsync(platform.BaseUrl + "/graphiql.html");
        await page.Locator("#ide[data-state=missing]").WaitForAsync();
        Assert.Contains("not installed", await page.Locator("#ide").TextContentAsync());
    }
}
