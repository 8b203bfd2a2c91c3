using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;
using Xunit;
using static EsmcFeaturePlatform.Inference.Tests.Inference.InferenceFixtures;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// Every golden output of tests/fixtures/esmc_tiny for every model folder (all layouts, sharded too) and
/// every SAE. Everything is driven by golden.json and the config files, never by the tiny dimensions.
/// </summary>
public sealed class GoldenParityTests
{
    public static TheoryData<string> ModelDirectories()
    {
        var data = new TheoryData<string>();
        foreach (var dir in ModelDirectoryNames) data.Add(dir);
        return data;
    }

    [Theory]
    [MemberData(nameof(ModelDirectories))]
    public void Batched_forward_matches_every_golden_output(string modelDirectoryName)
    {
        using var engine = LoadEngine(Path.Combine(EsmcTinyRoot, modelDirectoryName));
        var output = engine.Run(GoldenTokens(), FullRequest(engine.Config.Layers));
        var statistics = Saes.ToDictionary(s => s.Name, s => SaeFile(engine, s).ReadStatistics());
        var minimumMargin = Golden.GetProperty("min_kth_margin").GetDouble();
        var smallestSeen = double.MaxValue;

        var i = 0;
        foreach (var golden in Sequences)
        {
            var name = $"{modelDirectoryName}/{golden.GetProperty("name").GetString()}";
            var ours = output.Sequences[i++];
            Assert.Equal(golden.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()), ours.Ids);
            var goldenStates = golden.GetProperty("hidden_states");
            Assert.Equal(engine.Config.Layers + 1, goldenStates.GetArrayLength());
            var layer = 0;
            foreach (var state in goldenStates.EnumerateArray())
            {
                Rows(state, ours.HiddenStates[layer], $"{name} h[{layer}]");
                layer++;
            }
            Rows(golden.GetProperty("logits"), ours.Logits!, $"{name} logits");

            foreach (var sae in Saes)
            {
                var what = $"{name} {sae.Name}";
                var goldenSae = golden.GetProperty("sae").GetProperty(sae.Name);
                var saeOut = ours.Saes[sae.Id];
                Rows(goldenSae.GetProperty("sae_input"), saeOut.Inputs!, $"{what} input");
                var positions = goldenSae.GetProperty("positions").EnumerateArray().ToList();
                Assert.Equal(positions.Count, saeOut.Positions.Length);
                foreach (var position in positions)
                {
                    var pos = position.GetProperty("pos").GetInt32();
                    var row = saeOut.Positions[pos];
                    Assert.Equal(position.GetProperty("token_id").GetInt64(), ours.Ids[pos]);
                    SameFeatures(Pairs(position.GetProperty("topk")), row.AsPairs(), $"{what} pos {pos} raw");
                    // Order within a row: value descending, index ascending (contracts feature list).
                    Assert.True(row.Zip(row.Skip(1)).All(p => FeatureMath.CompareFeatureOrder(p.First, p.Second) < 0), $"{what} pos {pos} is not in feature-list order");
                    Assert.True(row.Length <= sae.K(engine), $"{what} pos {pos} has more than k entries");
                    Assert.True(row.All(f => f.Value > 0), $"{what} pos {pos} lists a non-positive activation");
                    // Index sets are only comparable where the k-th and (k+1)-th activations are further apart than
                    // float32 error; the golden file's own minimum says so, and every margin must respect it.
                    var margin = position.GetProperty("kth_margin").GetDouble();
                    Assert.True(margin >= minimumMargin && minimumMargin > 1e-4, $"{what} pos {pos}: k-th margin {margin} below the golden minimum {minimumMargin}");
                    smallestSeen = Math.Min(smallestSeen, margin);
                    Close(position.GetProperty("reconstruction_mse").GetDouble(), saeOut.ReconstructionMse![pos], $"{what} pos {pos} mse");
                    if (!sae.PlaceholderStats)
                    {
                        var normalized = FeatureMath.Normalize(row, statistics[sae.Name]);
                        SameFeatures(Pairs(position.GetProperty("topk_normalized")), normalized.AsPairs(), $"{what} pos {pos} normalized");
                    }
                }
                var pooled = FeatureMath.Pool(saeOut.Residues);
                SameFeatures(Pairs(goldenSae.GetProperty("max_pooled_raw")), pooled.AsPairs(), $"{what} pooled raw");
                if (!sae.PlaceholderStats)
                    SameFeatures(Pairs(goldenSae.GetProperty("max_pooled_normalized")), FeatureMath.Normalize(pooled, statistics[sae.Name]).AsPairs(), $"{what} pooled normalized");
                else
                    Assert.True(FeatureMath.IsPlaceholder(statistics[sae.Name]), $"{what}: golden says placeholder statistics");
            }
        }
        Assert.Equal(minimumMargin, smallestSeen, 12);
    }

    [Fact]
    public void Batched_coo_form_matches_golden()
    {
        var batch = Golden.GetProperty("batch");
        var order = batch.GetProperty("sequence_order").EnumerateArray().Select(e => e.GetString()!).ToList();
        var byName = Sequences.ToDictionary(s => s.GetProperty("name").GetString()!);
        var tokens = order.Select(n => EsmcTokenizer.Tokenize(byName[n].GetProperty("sequence").GetString()!)).ToList();
        using var engine = LoadEngine(PrimaryModelDirectory);
        foreach (var property in batch.EnumerateObject().Where(p => p.Name.EndsWith("_coo_raw", StringComparison.Ordinal) || p.Name.EndsWith("_coo_normalized", StringComparison.Ordinal)))
        {
            var normalized = property.Name.EndsWith("_normalized", StringComparison.Ordinal);
            var saeName = property.Name[..property.Name.IndexOf("_coo_", StringComparison.Ordinal)];
            var sae = Saes.Single(s => s.Name == saeName);
            var output = engine.Run(tokens, new BatchRequest { Saes = [sae.Id] });
            var stats = SaeFile(engine, sae).ReadStatistics();
            var coo = SaeCoo.FromSequences(output.Sequences.Select(s => s.Saes[sae.Id].Positions).ToList(), engine.Saes.Single(s => s.Id == sae.Id).Config.CodebookSize,
                normalized ? stats : null);

            var golden = property.Value;
            Assert.Equal(golden.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), coo.Shape);
            Assert.Equal(batch.GetProperty("row_offsets").EnumerateArray().Select(e => e.GetInt32()), coo.RowOffsets);
            var indices = golden.GetProperty("indices");
            Assert.Equal(indices[0].EnumerateArray().Select(e => e.GetInt64()), coo.Rows);
            Assert.Equal(indices[1].EnumerateArray().Select(e => e.GetInt64()), coo.Columns);
            var values = golden.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToList();
            Assert.Equal(values.Count, coo.Values.Length);
            for (var i = 0; i < values.Count; i++) Close(values[i], coo.Values[i], $"{property.Name}[{i}]");
        }
    }

    [Fact]
    public void Padding_does_not_change_any_row()
    {
        using var engine = LoadEngine(PrimaryModelDirectory);
        var tokens = GoldenTokens();
        var request = FullRequest(engine.Config.Layers);
        var batched = engine.Run(tokens, request);
        Assert.True(batched.PaddedTokens > batched.RealTokens, "the golden sequences differ in length, so the batch must be padded");
        for (var i = 0; i < tokens.Length; i++)
        {
            var alone = engine.Run([tokens[i]], request).Sequences[0];
            var together = batched.Sequences[i];
            foreach (var (layer, rows) in alone.HiddenStates)
                for (var r = 0; r < rows.Length; r++)
                    for (var c = 0; c < rows[r].Length; c++)
                        Assert.True(Math.Abs(rows[r][c] - together.HiddenStates[layer][r][c]) <= 1e-5 * Math.Max(1, Math.Abs(rows[r][c])), $"seq {i} h[{layer}][{r}][{c}]");
            foreach (var (id, sae) in alone.Saes)
                for (var p = 0; p < sae.Positions.Length; p++)
                {
                    Assert.Equal(sae.Positions[p].Select(f => f.Index).Order(), together.Saes[id].Positions[p].Select(f => f.Index).Order());
                    foreach (var (a, b) in sae.Positions[p].OrderBy(f => f.Index).Zip(together.Saes[id].Positions[p].OrderBy(f => f.Index)))
                        Assert.True(Math.Abs(a.Value - b.Value) <= 1e-5 * Math.Max(1, a.Value), $"seq {i} {id} pos {p} feature {a.Index}");
                }
        }
    }

    [Fact]
    public void Padding_does_not_change_any_row_of_a_long_batch()
    {
        // A batch of a protein over 1,000 residues and a short one: the short one is padded with 740 positions, which its
        // attention must not read. This model's heads are 8 wide, so that is SDPA with the key mask (CpuAttentionTests
        // does the same for ESMC's heads of 64). Each alone runs without padding. The products run on other row counts
        // and round differently, so the rows agree to 1e-4 rather than bit for bit.
        using var engine = LoadEngine(PrimaryModelDirectory);
        var random = new Random(18);
        string Protein(int residues) => new([.. Enumerable.Range(0, residues).Select(_ => "ACDEFGHIKLMNPQRSTVWY"[random.Next(20)])]);
        var tokens = new[] { EsmcTokenizer.Tokenize(Protein(1040)), EsmcTokenizer.Tokenize(Protein(300)) };
        var request = new BatchRequest { HiddenStates = [1, engine.Config.Layers - 1] };
        var batched = engine.Run(tokens, request);
        Assert.True(batched.PaddedTokens > batched.RealTokens);
        for (var i = 0; i < tokens.Length; i++)
        {
            var alone = engine.Run([tokens[i]], request).Sequences[0];
            foreach (var (layer, rows) in alone.HiddenStates)
                for (var r = 0; r < rows.Length; r++)
                    for (var c = 0; c < rows[r].Length; c++)
                        Assert.True(Math.Abs(rows[r][c] - batched.Sequences[i].HiddenStates[layer][r][c]) <= 1e-4 * Math.Max(1, Math.Abs(rows[r][c])), $"seq {i} h[{layer}][{r}][{c}]");
        }
    }

    [Fact]
    public void Stopping_at_the_sae_layer_gives_the_same_features_as_the_full_model()
    {
        var model = EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints.EsmcCheckpoint.Open(PrimaryModelDirectory);
        var shallow = Saes.OrderBy(s => s.Layer).First();
        var sae = EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints.SaeCheckpoint.Open(shallow.RepoPath, shallow.Layer, model.Config);
        using var full = EsmcInferenceEngine.Load(model, [sae], "cpu", fullModel: true);
        using var partial = EsmcInferenceEngine.Load(model, [sae], "cpu", fullModel: false);
        var tokens = GoldenTokens();
        var request = new BatchRequest { Saes = [sae.Id], SaeInputs = true };
        var a = full.Run(tokens, request);
        var b = partial.Run(tokens, request);
        for (var i = 0; i < tokens.Length; i++)
        {
            Assert.Equal(a.Sequences[i].Saes[sae.Id].Positions.Select(r => string.Join(",", r.Select(f => f.Index))),
                b.Sequences[i].Saes[sae.Id].Positions.Select(r => string.Join(",", r.Select(f => f.Index))));
        }
        // The partial engine cannot produce logits: it never loaded the last blocks or the head.
        Assert.Throws<InvalidOperationException>(() => partial.Run(tokens, new BatchRequest { Logits = true }));
    }

    private static EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints.SaeCheckpoint SaeFile(EsmcInferenceEngine engine, GoldenSae sae) => engine.Saes.Single(s => s.Id == sae.Id);
}

internal static class GoldenSaeExtensions
{
    public static int K(this InferenceFixtures.GoldenSae sae, EsmcInferenceEngine engine) => engine.Saes.Single(s => s.Id == sae.Id).Config.K;
}

/// <summary>The GPU precision path (bfloat16 backbone, float32 SAE), exercised on CPU so it is tested on every machine.</summary>
public sealed class ReducedPrecisionTests
{
    [Fact]
    public void Bfloat16_backbone_stays_close_to_golden_and_keeps_most_features()
    {
        var model = EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints.EsmcCheckpoint.Open(PrimaryModelDirectory);
        var saes = Saes.Select(s => EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints.SaeCheckpoint.Open(s.RepoPath, s.Layer, model.Config)).ToList();
        using var engine = EsmcInferenceEngine.Load(model, saes, "cpu", fullModel: true, backboneDType: global::TorchSharp.torch.ScalarType.BFloat16);
        var output = engine.Run(GoldenTokens(), FullRequest(engine.Config.Layers));
        int shared = 0, total = 0;
        var i = 0;
        foreach (var golden in Sequences)
        {
            var ours = output.Sequences[i++];
            var last = golden.GetProperty("hidden_states")[engine.Config.Layers];
            var r = 0;
            foreach (var row in last.EnumerateArray())
            {
                var c = 0;
                // bfloat16 keeps 8 bits of mantissa: expect agreement to a few percent of the row's scale, not 1e-4.
                foreach (var v in row.EnumerateArray())
                    Assert.True(Math.Abs(v.GetDouble() - ours.HiddenStates[engine.Config.Layers][r][c++]) <= 0.1 * Math.Max(1, Math.Abs(v.GetDouble())));
                r++;
            }
            foreach (var sae in Saes)
                foreach (var position in golden.GetProperty("sae").GetProperty(sae.Name).GetProperty("positions").EnumerateArray())
                {
                    var goldenSet = Pairs(position.GetProperty("topk")).Keys.ToHashSet();
                    var mine = ours.Saes[sae.Id].Positions[position.GetProperty("pos").GetInt32()].Select(f => f.Index);
                    shared += mine.Count(goldenSet.Contains);
                    total += goldenSet.Count;
                }
        }
        Assert.True(shared >= 0.8 * total, $"bfloat16 kept {shared} of {total} golden features");
    }
}
