using EsmcFeaturePlatform.Server.Hosting;
using EsmcFeaturePlatform.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// The storage emulator's life: a server stops the Azurite it started when it stops, and tests never use Azurite's
/// default ports (a server a person starts there must never attach to the in-memory emulator the tests left running).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageEmulatorTests(PlatformFactory platform) : IClassFixture<PlatformFactory>
{
    [Fact]
    public void The_emulator_ports_come_from_the_connection_string_and_the_tests_use_their_own()
    {
        Assert.Equal([10000, 10001, 10002], AzuriteLauncher.PortsOf("UseDevelopmentStorage=true"));
        Assert.Equal([20001, 20002, 20003], AzuriteLauncher.PortsOf(AzuriteLauncher.ConnectionStringFor(20001, 20002, 20003)));
        Assert.Equal([TestStorage.BlobPort, TestStorage.QueuePort, TestStorage.TablePort], AzuriteLauncher.PortsOf(TestStorage.ConnectionString));
        Assert.Equal(TestStorage.ConnectionString, AzuriteLauncher.ConnectionStringFor(TestStorage.BlobPort, TestStorage.QueuePort, TestStorage.TablePort));

        // The test host's own storage settings point at the tests' ports, none of the defaults.
        var storage = platform.Services.GetRequiredService<StorageOptions>();
        Assert.Empty(AzuriteLauncher.PortsOf(storage.ConnectionString).Intersect(AzuriteLauncher.DefaultPorts));
    }

    [Fact]
    public async Task A_server_stops_the_emulator_it_started_when_it_stops()
    {
        int[] ports = [LoopbackPorts.Free(), LoopbackPorts.Free(), LoopbackPorts.Free()];
        Assert.DoesNotContain(ports, AzuriteLauncher.IsListening);
        var host = new OwnEmulatorPlatformFactory(AzuriteLauncher.ConnectionStringFor(ports[0], ports[1], ports[2]));
        try
        {
            // A query that reads grain state: the silo works over the emulator the server started itself.
            await host.DataAsync("{ saes { id corpusSize } }");
            var launcher = host.Services.GetRequiredService<AzuriteLauncher>();
            Assert.True(launcher.Started);
            Assert.All(ports, p => Assert.True(AzuriteLauncher.IsListening(p), $"port {p} does not listen"));
        }
        finally
        {
            await host.DisposeAsync();
        }
        Assert.All(ports, p => Assert.False(AzuriteLauncher.IsListening(p), $"port {p} still listens after the server stopped"));
    }

    /// <summary>A server whose storage is an emulator on ports nothing listens on, so it starts (and must stop) its own.</summary>
    private sealed class OwnEmulatorPlatformFactory(string connectionString) : PlatformFactory(new Dictionary<string, string>
    {
        ["Esmc:Storage:ConnectionString"] = connectionString,
        ["Esmc:Storage:StartEmulator"] = "true",
        ["Esmc:Storage:EmulatorInMemory"] = "true",
    });
}
