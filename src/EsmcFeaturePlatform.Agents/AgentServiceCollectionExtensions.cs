using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Agents.Batch;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Agents;

public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IFeatureDescriber"/>: the Semantic Kernel agent when <c>Esmc:Agent:Endpoint</c>
    /// is set, else the evidence-only describer; plus <see cref="DescriptionBatchRunner"/>. Options are
    /// validated on start, so a bad endpoint stops the host with a clear message.
    /// </summary>
    public static IServiceCollection AddFeatureDescriber(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddValidatedOptions<AgentOptions>(configuration);
        services.AddSingleton<IFeatureDescriber>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            return string.IsNullOrWhiteSpace(options.Endpoint)
                ? new EvidenceOnlyDescriber(options.EvidenceSettings)
                : SemanticKernelFeatureDescriber.Create(options, sp.GetService<ILoggerFactory>());
        });
        services.AddSingleton(sp => new DescriptionBatchRunner(
            sp.GetRequiredService<IFeatureDescriber>(),
            sp.GetRequiredService<IOptions<AgentOptions>>().Value,
            sp.GetService<ILogger<DescriptionBatchRunner>>()));
        return services;
    }
}
