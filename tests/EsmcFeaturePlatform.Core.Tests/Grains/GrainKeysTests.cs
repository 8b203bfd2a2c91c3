using System.Net;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Orleans.Runtime;

namespace EsmcFeaturePlatform.Core.Tests.Grains;

/// <summary>
/// Stored grain state is keyed by these strings, so each test pins the exact text of a key as well as its round trip:
/// a format that changed would orphan every stored feature, page, shard and corpus row.
/// </summary>
public sealed class GrainKeysTests
{
    // SAE ids may hold '|' and ':' (only '#' is excluded), so every parser must cut at the right separator.
    private const string Sae = "EvolutionaryScale/esmc-300m-sae|v2:x/layer12";

    [Fact]
    public void A_feature_key_is_SAE_hash_INDEX_and_parses_back()
    {
        var key = new FeatureKey(Sae, 1234);
        Assert.Equal($"{Sae}#1234", GrainKeys.Feature.Format(key));
        Assert.Equal(GrainKeys.Feature.Format(key), key.ToString());
        Assert.Equal(key, GrainKeys.Feature.Parse(GrainKeys.Feature.Format(key)));
        Assert.Equal(key, FeatureKey.Parse(key.ToString()));
    }

    [Fact]
    public void A_feature_page_key_is_SAE_hash_page_N_and_parses_back()
    {
        Assert.Equal($"{Sae}#page-3", GrainKeys.FeaturePage.Format(Sae, 3));
        Assert.Equal(GrainKeys.FeaturePage.Format(Sae, 3), FeaturePages.KeyOf(new FeatureKey(Sae, 3 * FeaturePages.Size + 5)));
        Assert.Equal((Sae, 3), GrainKeys.FeaturePage.Parse(GrainKeys.FeaturePage.Format(Sae, 3)));
    }

    [Fact]
    public void A_corpus_shard_key_is_SAE_bar_SHARD_and_parses_back()
    {
        Assert.Equal($"{Sae}|15", GrainKeys.CorpusShard.Format(Sae, 15));
        Assert.Equal(GrainKeys.CorpusShard.Format(Sae, 15), CorpusSharding.ShardKey(Sae, 15));
        Assert.Equal((Sae, 15), GrainKeys.CorpusShard.Parse(GrainKeys.CorpusShard.Format(Sae, 15)));
    }

    [Fact]
    public void An_analysis_key_is_SAE_bar_the_sequences_SHA256_and_parses_back()
    {
        // SHA-256 of the UTF-8 bytes of "ACDE", upper-case hex.
        const string hash = "F50B9A1DB8767FB7CDC8B89CF1A78C9FAC1E0E2D5BB5367AEEC14709396D5C5E";
        var key = GrainKeys.Analysis.Format(Sae, "ACDE");
        Assert.Equal($"{Sae}|{hash}", key);
        Assert.Equal(key, AnalysisKeys.For(Sae, "ACDE"));
        var (saeId, sequenceHash) = GrainKeys.Analysis.Parse(key);
        Assert.Equal(Sae, saeId);
        Assert.Equal(hash, sequenceHash);
    }

    [Fact]
    public void An_inference_worker_key_is_SILO_bar_MODEL_and_parses_back()
    {
        var silo = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 42);
        // A model name may hold '|' too: the silo's own text never does, so the key is cut at the first one.
        var key = GrainKeys.InferenceWorker.Format(silo, "esmc-300m|fp16");
        Assert.Equal($"{silo.ToParsableString()}|esmc-300m|fp16", key);
        Assert.Equal((silo, "esmc-300m|fp16"), GrainKeys.InferenceWorker.Parse(key));
    }

    [Fact]
    public void A_corpus_claim_is_JOB_colon_BATCH_and_parses_back()
    {
        Assert.Equal("index-abc:17", GrainKeys.CorpusClaim.Format("index-abc", 17));
        Assert.Equal(("index-abc", 17), GrainKeys.CorpusClaim.TryParse(GrainKeys.CorpusClaim.Format("index-abc", 17)));
        Assert.Null(GrainKeys.CorpusClaim.TryParse("written-by-hand"));
        Assert.Null(GrainKeys.CorpusClaim.TryParse("index-abc:-1"));
        Assert.Null(GrainKeys.CorpusClaim.TryParse(null));
    }

    [Theory]
    [InlineData("feature", "no-separator")]
    [InlineData("feature", "#12")]
    [InlineData("feature", "sae#twelve")]
    [InlineData("feature", "sae# 12")]
    [InlineData("feature page", "sae#7")]
    [InlineData("feature page", "sae#page-")]
    [InlineData("corpus shard", "sae")]
    [InlineData("corpus shard", "sae|-1")]
    [InlineData("analysis", "sae|ABC")]
    [InlineData("analysis", "sae|f50b9a1db8767fb7cdc8b89cf1a78c9fac1e0e2d5bb5367aeec14709396d5c5e")]
    [InlineData("inference worker", "not-a-silo|model")]
    [InlineData("inference worker", "model-only")]
    public void A_malformed_key_is_refused_with_an_error_naming_the_kind_and_the_form(string kind, string key)
    {
        Func<object> parse = kind switch
        {
            "feature" => () => GrainKeys.Feature.Parse(key),
            "feature page" => () => GrainKeys.FeaturePage.Parse(key),
            "corpus shard" => () => GrainKeys.CorpusShard.Parse(key),
            "analysis" => () => GrainKeys.Analysis.Parse(key),
            _ => () => GrainKeys.InferenceWorker.Parse(key),
        };
        var error = Assert.Throws<FormatException>(parse);
        Assert.Contains($"'{key}' is not a {kind} grain key of the form ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-silo|model")]
    [InlineData("model-only")]
    [InlineData(null)]
    public void The_placement_director_reads_no_silo_from_a_key_that_names_none(string? key)
    {
        Assert.False(GrainKeys.InferenceWorker.TryParse(key, out var silo, out _));
        Assert.Null(silo);
    }
}
