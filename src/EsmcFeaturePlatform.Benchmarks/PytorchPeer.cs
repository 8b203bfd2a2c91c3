using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EsmcFeaturePlatform.Benchmarks;

/// <summary>
/// The PyTorch implementation of the same forward (peer/esmc_pytorch_peer.py), run as a child process that
/// keeps its weights loaded and answers one JSON line per command, so the benchmark can alternate it with our
/// engine batch list for batch list. It times itself (wall and its own process CPU) around the work only.
/// </summary>
internal sealed class PytorchPeer : IDisposable
{
    public const string ScriptName = "esmc_pytorch_peer.py";

    /// <summary>glibc's trimming and mmap off (what <c>NativeAllocator.KeepFreedMemory</c> sets with mallopt in our process).</summary>
    public const string PeerAllocatorTunables = "glibc.malloc.trim_threshold=2147483647:glibc.malloc.mmap_max=0";

    private readonly Process _process;

    private PytorchPeer(Process process) => _process = process;

    /// <summary>Why the peer cannot run here (no interpreter, no torch), or null when it can.</summary>
    public static string? Unavailable(string python)
    {
        if (!File.Exists(python)) return $"{python} not found (install Debian's python3-torch: apt-get install python3-torch)";
        if (!File.Exists(ScriptPath)) return $"{ScriptPath} missing from the benchmark's output folder";
        var probe = Process.Start(new ProcessStartInfo(python, ["-c", "import torch"]) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = probe.StandardError.ReadToEnd();
        probe.WaitForExit();
        return probe.ExitCode == 0 ? null : $"{python} cannot import torch (apt-get install python3-torch): {error.Trim().Split('\n')[^1]}";
    }

    private static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "peer", ScriptName);

    public static PytorchPeer Start(string python, int threads)
    {
        var info = new ProcessStartInfo(python, ["-u", ScriptPath])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // OpenMP and OpenBLAS read these at start-up; torch.set_num_threads in the script covers torch's own pool.
        info.Environment["OMP_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Debian's OpenBLAS 0.3.21 does not know newer Intel CPUs (family 6 model 207 here) and falls back to its generic
        // "Prescott" kernels: 20 GFLOP per CPU-second against 122 with its AVX-512 kernels on the same cores. A peer
        // handicapped by a detection gap proves nothing, so the benchmark picks the best kernel family the CPU supports,
        // unless the caller chose one (OPENBLAS_CORETYPE is OpenBLAS's own override).
        if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is not { Length: > 0 } && BestOpenBlasCore() is { } core)
            info.Environment["OPENBLAS_CORETYPE"] = core;
        // The same C allocator setting our engine makes in-process (InferenceOptions.KeepFreedNativeMemory, mallopt), here
        // through glibc's tunables, so neither side pays page faults the other does not.
        if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is not { Length: > 0 })
            info.Environment["GLIBC_TUNABLES"] = PeerAllocatorTunables;
        return new PytorchPeer(Process.Start(info)!);
    }

    /// <summary>OpenBLAS's kernel family for this CPU's widest vector instructions (null when /proc/cpuinfo is unreadable).</summary>
    public static string? BestOpenBlasCore()
    {
        try
        {
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ') ?? [];
            return flags.Contains("avx512f") ? "SkylakeX" : flags.Contains("avx2") ? "Haswell" : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public JsonObject Send(object command)
    {
        _process.StandardInput.WriteLine(JsonSerializer.Serialize(command));
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("The PyTorch peer exited (see its error output above).");
        var reply = JsonNode.Parse(line)!.AsObject();
        if (reply["error"] is { } error) throw new InvalidOperationException($"PyTorch peer: {error}");
        return reply;
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000)) _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
    }
}
