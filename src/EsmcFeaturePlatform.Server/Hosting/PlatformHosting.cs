using System.Net;
using System.Net.Sockets;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Files;
using Microsoft.Extensions.DependencyInjection.Extensions;
using EsmcFeaturePlatform.Grains;
using EsmcFeaturePlatform.Inference.TorchSharp;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>The capabilities Program.cs lists, one AddXxx each.</summary>
public static class PlatformHosting
{
    public static PlatformOptions GetPlatformOptions(this IConfiguration configuration) => configuration.GetValidatedOptions<PlatformOptions>();

    /// <summary>Listens on http://127.0.0.1:5080 unless --urls / ASPNETCORE_URLS say otherwise (docs/contracts.md, section 3.1).</summary>
    public static WebApplicationBuilder AddEsmcDefaults(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls("http://127.0.0.1:5080");
        // `dotnet run --project` from elsewhere makes the working folder the content root, which lacks appsettings.json:
        // read the copy beside the binaries then, as the lowest-priority source (env and command line still win).
        var beside = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (!File.Exists(Path.Combine(builder.Environment.ContentRootPath, "appsettings.json")) && File.Exists(beside))
        {
            var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = beside, Optional = true };
            source.ResolveFileProvider();
            ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, source);   // the configuration manager reloads on insert
        }
        var platform = builder.Services.BindValidatedOptions<PlatformOptions>(builder.Configuration);
        Directory.CreateDirectory(platform.ResolvedDataRoot);
        return builder;
    }

    /// <summary>
    /// The one rule for files a request names (<see cref="ServerFileRule"/>): section Esmc:Corpus, roots defaulting to
    /// DataRoot/corpora. Registered where grains read files (silos) and where requests are checked (the API).
    /// </summary>
    public static IHostApplicationBuilder AddEsmcServerFiles(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetValidatedOptions<ServerFileOptions>();
        if (options.Roots.Length == 0) options.Roots = [Path.Combine(builder.Configuration.GetPlatformOptions().ResolvedDataRoot, "corpora")];
        builder.Services.TryAddSingleton(_ => new ServerFileRule(options));
        return builder;
    }

    /// <summary>Starts (and on shutdown stops) Azurite when the storage is the emulator and nothing is listening.</summary>
    public static IHostApplicationBuilder AddEsmcStorageEmulator(this IHostApplicationBuilder builder)
    {
        var storage = builder.Services.BindValidatedOptions<StorageOptions>(builder.Configuration);
        if (!storage.IsEmulator || !storage.StartEmulator) return builder;
        var platform = builder.Configuration.GetPlatformOptions();
        var launcher = AzuriteLauncher.EnsureRunning(platform.ResolvedDataRoot, storage.EmulatorInMemory, Console.Error.WriteLine, storage.ConnectionString);
        builder.Services.AddSingleton(launcher);
        // A singleton registered as an instance is never disposed by the container: stop the emulator when the host stops.
        // Registered before the silo, so it stops after the silo (hosted services stop in reverse order).
        builder.Services.AddHostedService(_ => new StopEmulatorOnShutdown(launcher));
        return builder;
    }

    /// <summary>Stops the emulator this host started (one it found already running is left alone) when the host stops.</summary>
    private sealed class StopEmulatorOnShutdown(AzuriteLauncher launcher) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            launcher.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>The encoder port for the silo's grains: the model root, or a demo root created on first start.</summary>
    /// <summary>
    /// The encoder port for the silo's grains: the model root, or a demo root created on first start, read once the
    /// repositories of Esmc:Models:Pull are pulled into it (every role registers the puller: /healthz reports it).
    /// </summary>
    public static IHostApplicationBuilder AddEsmcInference(this IHostApplicationBuilder builder)
    {
        builder.AddEsmcModelPull();
        var platform = builder.Configuration.GetPlatformOptions();
        if (!platform.HostsSilo) return builder;
        builder.Services.AddValidatedOptions<InferenceOptions>(builder.Configuration);
        builder.Services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILogger<TorchFeatureEncoder>>();
            // Models pulled on start (Esmc:Models:Pull) must be complete before the root is read.
            var puller = sp.GetRequiredService<ModelPuller>();
            puller.WaitUntilDone();
            var root = platform.ModelRoot;
            if (string.IsNullOrWhiteSpace(root) && sp.GetRequiredService<ModelPullOptions>().Pull.Count > 0)
            {
                root = ModelPulls.ModelRoot(platform);   // pulled into DataRoot/models: no demo model beside real ones
            }
            else if (string.IsNullOrWhiteSpace(root))
            {
                root = Path.Combine(platform.ResolvedDataRoot, "models");
                var ids = DemoModel.Create(root);
                logger.LogWarning("Esmc:ModelRoot is not set: serving the RANDOM demo model in {Root} ({Saes}); its features mean nothing biologically", root, string.Join(", ", ids));
            }
            else if (!Directory.Exists(root))
            {
                throw new DirectoryNotFoundException($"Esmc:ModelRoot '{root}' does not exist.");
            }
            var encoder = TorchFeatureEncoder.OpenModelRoot(Path.GetFullPath(root), sp.GetRequiredService<IOptions<InferenceOptions>>().Value);
            foreach (var problem in encoder.LoadProblems) logger.LogWarning("Not loaded: {Path}: {Reason}", problem.Path, problem.Reason);
            logger.LogInformation("Serving {Count} SAE(s): {Saes}", encoder.Saes.Count, string.Join(", ", encoder.Saes.Select(s => s.Id)));
            return encoder;
        });
        builder.Services.AddSingleton<IFeatureEncoder>(sp => sp.GetRequiredService<TorchFeatureEncoder>());
        builder.Services.AddSingleton<IDecoderNeighbors>(sp => sp.GetRequiredService<TorchFeatureEncoder>());
        builder.Services.AddHostedService<IdleModelUnloader>();
        return builder;
    }

    /// <summary>An Orleans silo (roles all/silo) or a cluster client (role api), clustered and stored per configuration.</summary>
    public static IHostApplicationBuilder AddEsmcOrleans(this IHostApplicationBuilder builder)
    {
        var platform = builder.Configuration.GetPlatformOptions();
        var cluster = builder.Configuration.GetValidatedOptions<PlatformClusterOptions>();
        var storage = builder.Configuration.GetValidatedOptions<StorageOptions>();

        if (platform.HostsSilo)
        {
            builder.AddEsmcServerFiles();
            builder.UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
                silo.AddActivityPropagation();   // a grain's spans join the caller's trace (inference batches link to it)
                if (cluster.UsesAzureStorage)
                {
                    silo.UseAzureStorageClustering(o => { o.TableServiceClient = new TableServiceClient(storage.ConnectionString); o.TableName = cluster.MembershipTable; });
                    silo.ConfigureEndpoints(AdvertisedAddress(cluster), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                }
                else
                {
                    var primary = cluster.PrimarySiloPort is { } port ? new IPEndPoint(IPAddress.Loopback, port) : null;
                    silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
                }
                silo.AddAzureBlobGrainStorage(GrainStorage.Name, (OptionsBuilder<AzureBlobStorageOptions> ob) => ob.Configure<IServiceProvider>((o, sp) =>
                {
                    o.BlobServiceClient = new BlobServiceClient(storage.ConnectionString, StorageClientOptions(new BlobClientOptions(), sp));
                    o.ContainerName = storage.Container;
                    // Orleans' binary format: compact for float arrays, and version-tolerant through the [Id] contracts.
                    o.GrainStorageSerializer = new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>());
                }));
                // Indexed proteins: one table row each, beside the grain state (CorpusTable's design note).
                silo.Services.AddSingleton(sp => new CorpusTable(
                    new TableServiceClient(storage.ConnectionString, StorageClientOptions(new TableClientOptions(), sp)), CorpusTable.TableNameFor(storage.Container)));
                silo.Services.AddEsmcGrainServices(builder.Configuration);
            });
        }
        else
        {
            builder.UseOrleansClient(client =>
            {
                client.Configure<ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
                client.AddActivityPropagation();
                if (cluster.UsesAzureStorage)
                    client.UseAzureStorageClustering(o => { o.TableServiceClient = new TableServiceClient(storage.ConnectionString); o.TableName = cluster.MembershipTable; });
                else
                    client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
            });
        }
        builder.Services.AddEsmcFeatureReader();
        return builder;
    }

    /// <summary>
    /// Options for the grain-state and corpus clients: every <see cref="HttpPipelinePolicy"/> registered as a service joins
    /// their pipelines once per try (the fault-injection tests refuse, cut off and drop storage answers this way).
    /// </summary>
    private static T StorageClientOptions<T>(T options, IServiceProvider services) where T : Azure.Core.ClientOptions
    {
        foreach (var policy in services.GetServices<HttpPipelinePolicy>()) options.AddPolicy(policy, HttpPipelinePosition.PerRetry);
        return options;
    }

    private static IPAddress AdvertisedAddress(PlatformClusterOptions cluster)
    {
        if (!string.IsNullOrWhiteSpace(cluster.AdvertisedAddress))
        {
            if (IPAddress.TryParse(cluster.AdvertisedAddress, out var parsed)) return parsed;
            return Dns.GetHostAddresses(cluster.AdvertisedAddress).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        }
        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }
}
