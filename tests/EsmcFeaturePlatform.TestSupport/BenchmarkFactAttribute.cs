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
