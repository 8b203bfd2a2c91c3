using System.Globalization;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Tests.Infrastructure;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Agents.Tests;

/// <summary>
/// The get_nearest_features kernel function, fed by the real decoder-neighbour port over the tiny golden SAE,
/// round-trips through the real SK connector and the scripted server with the port's cosine values and labels.
/// </summary>
public sealed class NearestFeaturesToolTests : IAsyncLifetime
{
    private const string SaeId = "ESMC-tiny-sae-k4-codebook64/layer2";
    private readonly SyntheticFeature _feature = SyntheticFeature.Inside("TRANSMEM");
    private readonly string _modelRoot = TinyModelRoot.Create("esmc-agent-models");
    private ScriptedModel _model = null!;
    private ScriptedOpenAiServer _server = null!;

    public Task InitializeAsync()
    {
        _model = new ScriptedModel(_feature);
        _server = new ScriptedOpenAiServer(_model.Handle);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_modelRoot, recursive: true);
    }

    [Fact]
    public async Task The_model_calls_get_nearest_features_and_gets_the_ports_cosines_and_labels()
    {
        DecoderNeighbor[] neighbours;
        using (var encoder = TorchFeatureEncoder.OpenModelRoot(_modelRoot, new InferenceOptions()))
            neighbours = (await encoder.NearestByDecoderAsync(SaeId, [_feature.Key.Index], 5))[0];
        Assert.Equal(5, neighbours.Length);
        Assert.DoesNotContain(neighbours, n => n.Index == _feature.Key.Index);
        // Label the closest neighbour only, as a partly described SAE would have it.
        var evidence = _feature.Evidence() with
        {
            NearestFeatures = [.. neighbours.Select((n, i) => new NeighbourFeature(n.Index, n.Cosine, i == 0 ? "Membrane anchor" : null))],
        };
        _model.ExplainerScript.Enqueue(r => ScriptedModel.CallTools(r, "get_nearest_features"));

        using var describer = SemanticKernelFeatureDescriber.Create(new AgentOptions
        {
            Endpoint = _server.Endpoint, Model = "scripted-model", ApiKey = "test-key", HeldOutPerClass = 5, Score = false, MaxRetries = 0,
        });
        var transcript = await describer.DescribeWithTranscriptAsync(evidence);

        Assert.True(transcript.Result.Succeeded, transcript.Result.Failure);
        Assert.Equal(["get_nearest_features"], transcript.ToolCalls);
        // The system prompt points the model at this evidence (whitespace normalised: the prompt wraps lines).
        var system = System.Text.RegularExpressions.Regex.Replace(_model.ExplainerRequests.First().SystemText, @"\s+", " ");
        Assert.Contains("nearest features by decoder cosine with their labels", system, StringComparison.Ordinal);
        var answer = _model.ExplainerRequests.OrderBy(r => r.Sequence).Last();
        var toolResult = RecordedRequest.Text(answer.MessagesWithRole("tool").Single()["content"]!);
        for (var i = 0; i < neighbours.Length; i++)
        {
            var n = neighbours[i];
            var line = string.Create(CultureInfo.InvariantCulture, $"feature {n.Index}: decoder cosine {n.Cosine:0.000}, label: {(i == 0 ? "Membrane anchor" : "(not described yet)")}");
            Assert.Contains(line, toolResult, StringComparison.Ordinal);
        }
        // Highest cosine first, as the port returned them.
        var positions = neighbours.Select(n => toolResult.IndexOf($"feature {n.Index}:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(positions.Order(), positions);
    }

    [Fact]
    public void The_evidence_only_describer_mentions_a_close_labelled_neighbour_and_ignores_a_far_one()
    {
        var close = Evidence.EvidenceAnalysis.Build(_feature.Evidence() with { NearestFeatures = [new NeighbourFeature(12, 0.81, "Membrane anchor"), new NeighbourFeature(3, 0.9, null)] });
        var closeOutput = EvidenceOnlyDescriber.Describe(close);
        Assert.Contains("close to feature 12 ('Membrane anchor', cosine 0.81)", closeOutput.Description, StringComparison.Ordinal);
        Assert.Contains("decoder neighbour 12 cosine 0.81", closeOutput.EvidenceCited);

        var far = Evidence.EvidenceAnalysis.Build(_feature.Evidence() with { NearestFeatures = [new NeighbourFeature(12, 0.2, "Membrane anchor")] });
        Assert.DoesNotContain("Membrane anchor", EvidenceOnlyDescriber.Describe(far).Description, StringComparison.Ordinal);
    }
}
