using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Batch;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Agents.Tests;

public class ServiceRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddLogging()
            .AddFeatureDescriber(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

    [Fact]
    public void No_endpoint_means_the_evidence_only_describer()
    {
        using var sp = Build([]);
        var describer = sp.GetRequiredService<IFeatureDescriber>();
        Assert.IsType<EvidenceOnlyDescriber>(describer);
        Assert.False(describer.UsesLanguageModel);
        Assert.NotNull(sp.GetRequiredService<DescriptionBatchRunner>());
    }

    [Fact]
    public void An_endpoint_selects_the_semantic_kernel_agent_with_bound_options()
    {
        using var sp = Build(new()
        {
            ["Esmc:Agent:Endpoint"] = "http://127.0.0.1:9/v1", ["Esmc:Agent:Model"] = "llama3", ["Esmc:Agent:MaxConcurrency"] = "7",
        });
        Assert.IsType<SemanticKernelFeatureDescriber>(sp.GetRequiredService<IFeatureDescriber>());
        var options = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
        Assert.Equal("llama3", options.Model);
        Assert.Equal(7, options.MaxConcurrency);
    }

    [Fact]
    public void Bad_options_fail_with_the_setting_named()
    {
        using var sp = Build(new() { ["Esmc:Agent:Endpoint"] = "not a url", ["Esmc:Agent:MaxConcurrency"] = "0" });
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<AgentOptions>>().Value);
        Assert.Contains("Esmc:Agent:Endpoint must be an absolute http(s) URL", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Esmc:Agent:MaxConcurrency must be at least 1", ex.Message, StringComparison.Ordinal);
    }
}
