using System.Buffers.Binary;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;
using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using Xunit;
using static EsmcFeaturePlatform.TestSupport.TinyModelRoot;
using static EsmcFeaturePlatform.Inference.Tests.Inference.InferenceFixtures;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>Every way a checkpoint can be broken gives a CheckpointException naming the file (and tensor), never a crash.</summary>
public sealed class CheckpointValidationTests : IDisposable
{
    private readonly string _temp = TempDirectory();

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string CopyModel(string layoutDir = "esmc_tiny_hf_te") => CopyDirectory(Path.Combine(EsmcTinyRoot, layoutDir), Path.Combine(_temp, layoutDir));

    private static string WeightsOf(string dir) => Path.Combine(dir, "model.safetensors");

    [Fact]
    public void Truncated_file_names_file_and_tensor()
    {
        var dir = CopyModel();
        var path = WeightsOf(dir);
        var lastTensor = RawSafeTensors.ReadAll(path).Where(t => t.Data.Length > 0).Last().Name;
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 64);
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(path, e.Message);
        Assert.Contains(lastTensor, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Corrupt_header_length_and_invalid_json_are_reported()
    {
        var dir = CopyModel();
        var path = WeightsOf(dir);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(path, e.Message);
        Assert.Contains("header length", e.Message);

        var original = File.ReadAllBytes(Path.Combine(EsmcTinyRoot, "esmc_tiny_hf_te", "model.safetensors"));
        original[8] = (byte)'#';
        File.WriteAllBytes(path, original);
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("invalid JSON", e.Message);

        File.WriteAllBytes(path, [1, 2, 3]);
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Out_of_range_offsets_and_size_mismatch_name_the_tensor()
    {
        var dir = CopyModel();
        var path = WeightsOf(dir);
        var tensors = RawSafeTensors.ReadAll(path);
        const string victim = "esmc.transformer.blocks.0.attn.q_ln.weight";
        RawSafeTensors.Write(path, tensors, h =>
        {
            h[victim]!["data_offsets"] = new JsonArray(0L, 1L << 40);
            return h;
        });
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(victim, e.Message);
        Assert.Contains(path, e.Message);

        RawSafeTensors.Write(path, tensors, h =>
        {
            var offsets = h[victim]!["data_offsets"]!.AsArray();
            h[victim]!["data_offsets"] = new JsonArray(offsets[0]!.GetValue<long>(), offsets[0]!.GetValue<long>() + 4);
            return h;
        });
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(victim, e.Message);
    }

    [Fact]
    public void Missing_unexpected_and_misshapen_tensors_are_refused_by_name()
    {
        var dir = CopyModel();
        var path = WeightsOf(dir);
        var tensors = RawSafeTensors.ReadAll(path);

        RawSafeTensors.Write(path, tensors.Where(t => t.Name != "esmc.transformer.blocks.1.ffn.fc2_weight"));
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("transformer.blocks.1.ffn.fc2_weight", e.Message);
        Assert.Contains("missing", e.Message);

        RawSafeTensors.Write(path, tensors.Append(new RawSafeTensors.Tensor("esmc.transformer.blocks.0.attn.rotary.inv_freq", "F32", [4], new byte[16])));
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("esmc.transformer.blocks.0.attn.rotary.inv_freq", e.Message);
        Assert.Contains("unexpected", e.Message);

        var qkv = tensors.Single(t => t.Name == "esmc.transformer.blocks.2.attn.layernorm_qkv.weight");
        var swapped = qkv with { Shape = [qkv.Shape[1], qkv.Shape[0]] };
        RawSafeTensors.Write(path, tensors.Select(t => t.Name == qkv.Name ? swapped : t));
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(qkv.Name, e.Message);
        Assert.Contains("shape", e.Message);

        var embed = tensors.Single(t => t.Name == "esmc.embed.weight");
        RawSafeTensors.Write(path, tensors.Select(t => t.Name == embed.Name ? t with { DType = "I32" } : t));
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void Partial_lm_head_is_refused_but_a_bare_encoder_loads_without_logits()
    {
        var dir = CopyModel();
        var path = WeightsOf(dir);
        var tensors = RawSafeTensors.ReadAll(path);
        RawSafeTensors.Write(path, tensors.Where(t => t.Name != "lm_head.3.bias"));
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("lm_head.3.bias", e.Message);

        RawSafeTensors.Write(path, tensors.Where(t => !t.Name.StartsWith("lm_head.", StringComparison.Ordinal)));
        var bare = EsmcCheckpoint.Open(dir);
        Assert.Null(bare.Head);
        using var engine = EsmcInferenceEngine.Load(bare, [], "cpu");
        var tokens = GoldenTokens();
        Assert.Throws<InvalidOperationException>(() => engine.Run(tokens, new BatchRequest { Logits = true }));
        var states = engine.Run(tokens, new BatchRequest { HiddenStates = [engine.Config.Layers] });
        Rows(Sequences[0].GetProperty("hidden_states")[engine.Config.Layers], states.Sequences[0].HiddenStates[engine.Config.Layers], "bare encoder last state");
    }

    [Fact]
    public void Sharded_checkpoint_with_missing_shard_or_stray_tensor_is_refused()
    {
        var dir = CopyModel("esmc_tiny_hf_te_sharded");
        var shard = Directory.EnumerateFiles(dir, "model-*.safetensors").Order().Last();
        var tensors = RawSafeTensors.ReadAll(shard);
        RawSafeTensors.Write(shard, tensors.Append(new RawSafeTensors.Tensor("esmc.stray", "F32", [1], new byte[4])));
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("esmc.stray", e.Message);
        Assert.Contains(shard, e.Message);

        File.Delete(shard);
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains(Path.GetFileName(shard), e.Message);
    }

    [Fact]
    public void Bad_model_configs_are_refused_with_the_field_named()
    {
        var dir = CopyModel("esmc_tiny_hf_split");
        var config = Path.Combine(dir, "config.json");
        var original = File.ReadAllText(config);

        RawSafeTensors.ConfigWith(config, c => c.Remove("num_attention_heads"));
        var e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("num_attention_heads", e.Message);
        Assert.Contains(config, e.Message);

        File.WriteAllText(config, original);
        RawSafeTensors.ConfigWith(config, c => c["intermediate_size"] = c["intermediate_size"]!.GetValue<int>() + 256);
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("intermediate_size", e.Message);

        File.WriteAllText(config, original);
        RawSafeTensors.ConfigWith(config, c => c["num_attention_heads"] = c["hidden_size"]!.GetValue<int>() + 1);
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("divisible", e.Message);

        File.WriteAllText(config, original);
        RawSafeTensors.ConfigWith(config, c => c["num_hidden_layers"] = "three");
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("num_hidden_layers", e.Message);

        File.WriteAllText(config, "{ not json");
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("invalid JSON", e.Message);

        // A config claiming a different width than the tensors: caught by the shape checks, before any matmul.
        File.WriteAllText(config, original);
        RawSafeTensors.ConfigWith(config, c =>
        {
            var d = c["hidden_size"]!.GetValue<int>() * 2;
            c["hidden_size"] = d;
            c["intermediate_size"] = EsmcModelConfig.SwiGluHidden(d);
        });
        e = Assert.Throws<CheckpointException>(() => EsmcCheckpoint.Open(dir));
        Assert.Contains("shape", e.Message);
    }

    [Fact]
    public void Sae_width_mismatch_missing_layer_and_bad_tensors_are_refused()
    {
        var model = EsmcCheckpoint.Open(PrimaryModelDirectory);
        var sae = Saes.First();
        var repo = CopyDirectory(sae.RepoPath, Path.Combine(_temp, sae.RepoDir));
        var config = Path.Combine(repo, "config.json");
        var original = File.ReadAllText(config);

        RawSafeTensors.ConfigWith(config, c => c["d_model"] = model.Config.DModel + 2);
        var e = Assert.Throws<CheckpointException>(() => SaeCheckpoint.Open(repo, sae.Layer, model.Config, model.Directory));
        Assert.Contains("d_model", e.Message);
        Assert.Contains(config, e.Message);

        File.WriteAllText(config, original);
        e = Assert.Throws<CheckpointException>(() => SaeCheckpoint.Open(repo, 99, model.Config));
        Assert.Contains("layer_99.safetensors", e.Message);

        var layerFile = SaeCheckpoint.LayerFilePath(repo, sae.Layer);
        var tensors = RawSafeTensors.ReadAll(layerFile);
        RawSafeTensors.Write(layerFile, tensors.Where(t => t.Name != "b_dec"));
        e = Assert.Throws<CheckpointException>(() => SaeCheckpoint.Open(repo, sae.Layer, model.Config));
        Assert.Contains("b_dec", e.Message);
        Assert.Contains(layerFile, e.Message);

        RawSafeTensors.Write(layerFile, tensors.Append(new RawSafeTensors.Tensor("b_enc", "F32", [1], new byte[4])));
        e = Assert.Throws<CheckpointException>(() => SaeCheckpoint.Open(repo, sae.Layer, model.Config));
        Assert.Contains("b_enc", e.Message);

        var wEnc = tensors.Single(t => t.Name == "W_enc");
        RawSafeTensors.Write(layerFile, tensors.Select(t => t.Name == "W_enc" ? t with { Shape = [wEnc.Shape[1], wEnc.Shape[0]] } : t));
        e = Assert.Throws<CheckpointException>(() => SaeCheckpoint.Open(repo, sae.Layer, model.Config));
        Assert.Contains("W_enc", e.Message);

        File.WriteAllText(config, "{\"d_model\": 32, \"codebook_dim\": 64}");
        e = Assert.Throws<CheckpointException>(() => SaeCheckpoint.Open(repo, sae.Layer, model.Config));
        Assert.Contains("'k'", e.Message);
    }

    [Fact]
    public void Bfloat16_and_float16_weights_load_to_the_same_values_as_float32()
    {
        var source = RawSafeTensors.ReadAll(Path.Combine(EsmcTinyRoot, "esmc_tiny_hf_split", "model.safetensors"));
        // Round every weight to bf16 / f16, then write the same values once in the narrow dtype and once as F32:
        // both checkpoints must produce identical hidden states.
        foreach (var dtype in new[] { "BF16", "F16" })
        {
            var narrowDir = Path.Combine(_temp, dtype + "-narrow");
            var wideDir = Path.Combine(_temp, dtype + "-wide");
            foreach (var d in new[] { narrowDir, wideDir }) File.Copy(Path.Combine(EsmcTinyRoot, "esmc_tiny_hf_split", "config.json"), Path.Combine(Directory.CreateDirectory(d).FullName, "config.json"));
            var narrow = new List<RawSafeTensors.Tensor>();
            var wide = new List<RawSafeTensors.Tensor>();
            foreach (var t in source)
            {
                var values = RawSafeTensors.Floats(t);
                var bytes = new byte[values.Length * 2];
                var rounded = new float[values.Length];
                for (var i = 0; i < values.Length; i++)
                {
                    if (dtype == "BF16")
                    {
                        var bits = RawSafeTensors.ToBf16(values[i]);
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), bits);
                        rounded[i] = RawSafeTensors.FromBf16(bits);
                    }
                    else
                    {
                        var half = (Half)values[i];
                        BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), half);
                        rounded[i] = (float)half;
                    }
                }
                narrow.Add(t with { DType = dtype, Data = bytes });
                wide.Add(t with { Data = RawSafeTensors.F32Bytes(rounded) });
            }
            RawSafeTensors.Write(WeightsOf(narrowDir), narrow);
            RawSafeTensors.Write(WeightsOf(wideDir), wide);

            var file = SafeTensorsFile.Open(WeightsOf(narrowDir));
            var entry = file.Entries.Values.First(e => e.ElementCount > 0);
            Assert.Equal(RawSafeTensors.Floats(wide.Single(w => w.Name == entry.Name)), SafeTensorsFile.ReadFloats(entry));

            using var a = EsmcInferenceEngine.Load(EsmcCheckpoint.Open(narrowDir), [], "cpu");
            using var b = EsmcInferenceEngine.Load(EsmcCheckpoint.Open(wideDir), [], "cpu");
            var request = new BatchRequest { HiddenStates = [a.Config.Layers], Logits = true };
            var tokens = GoldenTokens();
            var x = a.Run(tokens, request);
            var y = b.Run(tokens, request);
            for (var s = 0; s < tokens.Length; s++)
                Assert.Equal(y.Sequences[s].Logits!.SelectMany(r => r), x.Sequences[s].Logits!.SelectMany(r => r));
        }
    }
}
