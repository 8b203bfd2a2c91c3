using Xunit;

namespace EsmcFeaturePlatform.TestSupport;

/// <summary>
/// A benchmark: skipped unless ESMC_RUN_BENCHMARKS=1, because it takes minutes and measures the machine. Benchmarks
/// print their measurements (BENCHMARKS.md says where they go); they never assert against a clock.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BenchmarkFactAttribute : FactAttribute
{
    public const string Variable = "ESMC_RUN_BENCHMARKS";

    public BenchmarkFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1") Skip = $"benchmark: set {Variable}=1 to run";
    }
}

/// <summary>What every benchmark prints before and after its run: numbers from a shared 2-core machine mean little without it.</summary>
public static class BenchmarkMachine
{
    /// <summary>UTC time, host, cores, OS and the load average (from /proc/loadavg where there is one).</summary>
    public static string Describe() =>
        $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.MachineName}, {Environment.ProcessorCount} cores, " +
        $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, load average {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}";
}
