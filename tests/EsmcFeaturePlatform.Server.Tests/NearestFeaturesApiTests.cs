using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>Feature.nearestFeatures over real HTTP on a real silo, checked against W_dec read straight from the SAE's safetensors file.</summary>
[Collection(ClusterCollection.Name)]
public sealed class NearestFeaturesApiTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    private const string Sae = TestEnvironment.SaeWithRealStats;

    [Fact]
    public async Task NearestFeatures_are_the_highest_decoder_cosines_excluding_the_feature_itself()
    {
        var expected = DirectCosines(ReadDecoder(Path.Combine(TestEnvironment.ModelRoot, TestEnvironment.StatesRepo, "layer_2.safetensors")));
        const string query = "query($s: ID!) { a: feature(sae: $s, index: 3) { index nearestFeatures(first: 5) { index cosine feature { index sae } } } "
            + "b: feature(sae: $s, index: 40) { index nearestFeatures { index cosine } } }";
        var data = await platform.DataAsync(query, new { s = Sae });

        foreach (var (alias, index, count) in new[] { ("a", 3, 5), ("b", 40, 10) })
        {
            var list = data[alias]!["nearestFeatures"]!.AsArray();
            Assert.Equal(count, list.Count);
            var indices = list.Select(n => n!["index"]!.GetValue<int>()).ToArray();
            var cosines = list.Select(n => n!["cosine"]!.GetValue<double>()).ToArray();
            Assert.DoesNotContain(index, indices);
            Assert.Equal(count, indices.Distinct().Count());
            Assert.Equal(cosines.OrderByDescending(c => c), cosines);
            // Each value is the cosine of the two rows, and nothing left out beats the last one listed.
            for (var i = 0; i < count; i++) Assert.Equal(expected[index, indices[i]], cosines[i], 1e-5);
            var best = Enumerable.Range(0, expected.GetLength(0)).Where(j => j != index && !indices.Contains(j)).Max(j => expected[index, j]);
            Assert.True(best <= cosines[^1] + 1e-6, $"feature {index}: an unlisted feature has cosine {best} > {cosines[^1]}");
        }
        Assert.All(data["a"]!["nearestFeatures"]!.AsArray(), n => Assert.Equal(n!["index"]!.GetValue<int>(), n["feature"]!["index"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Bad_feature_or_page_size_is_BAD_USER_INPUT()
    {
        var (_, unknown) = await platform.PostAsync("{ feature(sae: \"nope/layer9\", index: 0) { nearestFeatures { index } } }");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(unknown));
        var (_, outOfRange) = await platform.PostAsync($"{{ feature(sae: \"{Sae}\", index: 64) {{ nearestFeatures {{ index }} }} }}");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(outOfRange));
        var (_, negative) = await platform.PostAsync($"{{ feature(sae: \"{Sae}\", index: 1) {{ nearestFeatures(first: -1) {{ index }} }} }}");
        Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(negative));
        Assert.Contains("first", PlatformFactory.ErrorMessage(negative));
    }

    [Fact]
    public async Task The_grain_refuses_an_unknown_SAE_or_index_with_a_reason_instead_of_throwing()
    {
        var grain = platform.Services.GetRequiredService<IGrainFactory>().GetGrain<IDecoderNeighborsGrain>(0);
        var unknown = await grain.NearestAsync("nope/layer9", [0], 3);
        Assert.Equal(NeighborFailure.UnknownSae, unknown.Failure);
        Assert.Contains("nope/layer9", unknown.Message);
        var outOfRange = await grain.NearestAsync(Sae, [1, 64], 3);
        Assert.Equal(NeighborFailure.IndexOutOfRange, outOfRange.Failure);
        Assert.Contains("64", outOfRange.Message);
        var all = await grain.NearestAsync(Sae, [7], 1000);
        Assert.Equal(NeighborFailure.None, all.Failure);
        Assert.Equal(63, all.Neighbors[0].Length);   // every other feature, never itself
    }

    /// <summary>W_dec [codebook, d_model] from the safetensors file (8-byte header length, JSON header, little-endian F32 data).</summary>
    private static float[,] ReadDecoder(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var tensor = header.RootElement.GetProperty("W_dec");
        Assert.Equal("F32", tensor.GetProperty("dtype").GetString());
        var shape = tensor.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var start = 8 + headerLength + tensor.GetProperty("data_offsets")[0].GetInt32();
        var rows = new float[shape[0], shape[1]];
        for (var r = 0; r < shape[0]; r++)
            for (var c = 0; c < shape[1]; c++)
                rows[r, c] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(start + 4 * (r * shape[1] + c)));
        return rows;
    }

    private static double[,] DirectCosines(float[,] w)
    {
        int n = w.GetLength(0), d = w.GetLength(1);
        var norms = new double[n];
        for (var i = 0; i < n; i++)
        {
            double s = 0;
            for (var c = 0; c < d; c++) s += (double)w[i, c] * w[i, c];
            norms[i] = Math.Sqrt(s);
        }
        var cos = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
            {
                double dot = 0;
                for (var c = 0; c < d; c++) dot += (double)w[i, c] * w[j, c];
                cos[i, j] = dot / (norms[i] * norms[j]);
            }
        return cos;
    }
}
