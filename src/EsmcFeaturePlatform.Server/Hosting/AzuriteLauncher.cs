using System.Net;
using System.Diagnostics;
using System.Net.Sockets;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Starts the Azurite storage emulator (npm package azurite 3.37.0) when the platform is configured for the
/// emulator and nothing listens on its ports, installing it first if needed, and stops it on dispose.
/// It runs on loopback only, without telemetry, with data under DataRoot/azurite (or in memory for tests), on the
/// ports the connection string names: 10000-10002 for UseDevelopmentStorage=true, else its Blob/Queue/TableEndpoint
/// ports (the tests use their own, so a server never attaches to an in-memory emulator the tests left running).
/// </summary>
public sealed class AzuriteLauncher : IDisposable
{
    public const string Version = "3.37.0";
    /// <summary>Azurite's default blob, queue and table ports (those of UseDevelopmentStorage=true).</summary>
    public static readonly int[] DefaultPorts = [10000, 10001, 10002];

    private Process? _process;

    private AzuriteLauncher(Process? process, int[] ports)
    {
        _process = process;
        Ports = ports;
    }

    /// <summary>The blob, queue and table ports of this emulator.</summary>
    public int[] Ports { get; }

    /// <summary>
    /// The blob, queue and table ports an emulator connection string points at: the defaults for
    /// UseDevelopmentStorage=true, else the ports of its BlobEndpoint, QueueEndpoint and TableEndpoint (a missing one
    /// keeps its default).
    /// </summary>
    public static int[] PortsOf(string connectionString)
    {
        var ports = DefaultPorts.ToArray();
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq < 0) continue;
            var slot = part[..eq].Trim().ToLowerInvariant() switch { "blobendpoint" => 0, "queueendpoint" => 1, "tableendpoint" => 2, _ => -1 };
            if (slot >= 0 && Uri.TryCreate(part[(eq + 1)..].Trim(), UriKind.Absolute, out var uri) && !uri.IsDefaultPort) ports[slot] = uri.Port;
        }
        return ports;
    }

    /// <summary>A connection string for an emulator on loopback at these blob, queue and table ports (Azurite's well-known account).</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        + $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;"
        + $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";

    /// <summary>True when this launcher started the emulator (and will stop it).</summary>
    public bool Started => _process is not null;

    public static bool IsListening(int port)
    {
        // A blocking connect on loopback answers at once (connected or refused). An async connect with a short
        // wait could report "not listening" merely because a busy thread pool ran its continuation late.
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>Makes sure an emulator answers on the connection string's ports (127.0.0.1); starts one when none does.</summary>
    public static AzuriteLauncher EnsureRunning(string dataRoot, bool inMemory, Action<string> log, string connectionString = StorageOptions.EmulatorConnectionString)
    {
        var ports = PortsOf(connectionString);
        // Processes starting at the same moment (parallel test assemblies, several silos on one machine) would
        // race for the same three ports: a machine-wide named mutex lets the first start it and the rest reuse it.
        using var startGate = new Mutex(initiallyOwned: false, $"esmc-azurite-launcher-{ports[0]}");
        var owned = false;
        try
        {
            try { owned = startGate.WaitOne(TimeSpan.FromMinutes(6)); }
            catch (AbandonedMutexException) { owned = true; } // a previous holder died; the ports say what is running
            return StartUnlessListening(dataRoot, inMemory, log, ports);
        }
        finally
        {
            if (owned) startGate.ReleaseMutex();
        }
    }

    private static AzuriteLauncher StartUnlessListening(string dataRoot, bool inMemory, Action<string> log, int[] ports)
    {
        var listening = ports.Count(IsListening);
        // An emulator that is starting (or stopping) has some ports up and not others: give it a few seconds.
        for (var wait = 0; listening > 0 && listening < ports.Length && wait < 50; wait++)
        {
            Thread.Sleep(100);
            listening = ports.Count(IsListening);
        }
        if (listening == ports.Length) return new AzuriteLauncher(null, ports);
        if (listening > 0)
            throw new InvalidOperationException($"Some Azure Storage emulator ports ({string.Join(", ", ports)}) are in use but not all: stop whatever holds them, or set Esmc:Storage:ConnectionString to a real account.");

        var script = FindAzurite(dataRoot) ?? Install(dataRoot, log);
        var arguments = new List<string> { script, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", ports[1].ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tablePort", ports[2].ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (inMemory) arguments.Add("--inMemoryPersistence");
        else
        {
            var location = Path.Combine(dataRoot, "azurite");
            Directory.CreateDirectory(location);
            arguments.AddRange(["--location", location]);
        }
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        log($"Starting Azurite {Version} on ports {string.Join(", ", ports)} ({(inMemory ? "in memory" : "data in " + Path.Combine(dataRoot, "azurite"))})");
        Process process;
        try { process = Process.Start(start) ?? throw new InvalidOperationException("node did not start."); }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("Azurite needs Node.js ('node' on PATH) to run the Azure Storage emulator; install Node.js 18+ or point Esmc:Storage:ConnectionString at a real account.", ex);
        }
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!ports.All(IsListening))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} before listening: {errors}");
            if (DateTime.UtcNow > deadline)
            {
                Stop(process);
                throw new InvalidOperationException($"Azurite did not listen on {string.Join(", ", ports)} within 30 s: {errors}");
            }
            Thread.Sleep(100);
        }
        return new AzuriteLauncher(process, ports);
    }

    /// <summary>The repository's node_modules (walking up from the app and the working folder), then DataRoot/tools.</summary>
    public static string? FindAzurite(string dataRoot)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "node_modules", "azurite", "dist", "src", "azurite.js");
                if (File.Exists(candidate)) return candidate;
            }
        }
        var tools = Path.Combine(dataRoot, "tools", "node_modules", "azurite", "dist", "src", "azurite.js");
        return File.Exists(tools) ? tools : null;
    }

    private static string Install(string dataRoot, Action<string> log)
    {
        var prefix = Path.Combine(dataRoot, "tools");
        Directory.CreateDirectory(prefix);
        log($"Installing azurite@{Version} into {prefix} (npm)");
        var start = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, $"azurite@{Version}" }) start.ArgumentList.Add(a);
        try
        {
            using var npm = Process.Start(start) ?? throw new InvalidOperationException("npm did not start.");
            var stderr = npm.StandardError.ReadToEndAsync();
            _ = npm.StandardOutput.ReadToEndAsync();
            if (!npm.WaitForExit(TimeSpan.FromMinutes(5)) || npm.ExitCode != 0)
                throw new InvalidOperationException($"npm install azurite@{Version} failed: {stderr.Result}");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("The Azure Storage emulator (Azurite) is not installed and npm is not on PATH: run 'npm install' in the repository, or set Esmc:Storage:ConnectionString.", ex);
        }
        return Path.Combine(prefix, "node_modules", "azurite", "dist", "src", "azurite.js");
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    public void Dispose()
    {
        if (_process is null) return;
        Stop(_process);
        _process = null;
    }
}
