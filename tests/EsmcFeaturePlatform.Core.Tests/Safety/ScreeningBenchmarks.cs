using System.Diagnostics;
using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Safety;
using EsmcFeaturePlatform.TestSupport;
using Xunit.Abstractions;

namespace EsmcFeaturePlatform.Core.Tests.Safety;

/// <summary>
/// Opt-in figures for BENCHMARKS.md (issue 14): detection rate against substitution rate, and the time to screen a
/// 1,000-residue sequence against a 10,000-protein database. Printed, never asserted against a clock.
/// </summary>
public sealed class ScreeningBenchmarks(ITestOutputHelper output)
{
    [BenchmarkFact]
    public void Detection_rate_against_substitution_rate()
    {
        var generator = new SyntheticProteins(seed: 140);
        var controlled = Enumerable.Range(0, 500).Select(_ => generator.Protein(150, 600)).ToArray();
        var database = ControlledProteinDatabase.Build(controlled.Select((s, i) => new ControlledProtein($"C{i}", "toxin", s)), new MatchThresholds());
        var report = new StringBuilder();
        report.AppendLine("Start: " + BenchmarkMachine.Describe());
        report.AppendLine("500 generated controlled proteins (150-600 residues, Swiss-Prot composition); each query substitutes the given share of residues at random positions (every substitution changes the residue).");
        report.AppendLine("Defaults: alignments of >= 50 residues at >= 60% identity.");
        report.AppendLine();
        report.AppendLine("| substituted | whole protein caught | 60-residue fragment in 400 random residues caught |");
        report.AppendLine("| --- | --- | --- |");
        for (var percent = 0; percent <= 50; percent += 5)
        {
            var rate = percent / 100.0;
            int whole = 0, fragment = 0;
            foreach (var (hazard, i) in controlled.Select((h, i) => (h, i)))
            {
                if (database.FindBest(generator.Substitute(hazard, rate))?.Id == $"C{i}") whole++;
                var start = generator.Random.Next(0, hazard.Length - 60);
                if (database.FindBest(generator.Embed(generator.Substitute(hazard.Substring(start, 60), rate), 400))?.Id == $"C{i}") fragment++;
            }
            report.AppendLine(CultureInfo.InvariantCulture, $"| {percent}% | {100.0 * whole / controlled.Length:F1}% | {100.0 * fragment / controlled.Length:F1}% |");
        }
        var falsePositives = Enumerable.Range(0, 1000).Count(_ => database.FindBest(generator.Protein(50, 1000)) is not null);
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"False positives: {falsePositives} of 1,000 random proteins (50-1,000 residues).");
        report.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(report.ToString());
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "esmc-screening-detection.md"), report.ToString());
    }

    [BenchmarkFact]
    public void Screening_a_1000_residue_sequence_against_10000_proteins()
    {
        var generator = new SyntheticProteins(seed: 141);
        var proteins = Enumerable.Range(0, 10_000).Select(i => new ControlledProtein($"C{i}", "toxin", generator.Protein(100, 600))).ToList();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var build = Stopwatch.StartNew();
        var database = ControlledProteinDatabase.Build(proteins, new MatchThresholds());
        build.Stop();
        var memory = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        GC.KeepAlive(proteins);

        var benign = Enumerable.Range(0, 300).Select(_ => generator.Protein(1000)).ToArray();
        var hazardous = Enumerable.Range(0, 100).Select(i => generator.Embed(generator.Substitute(proteins[i * 7].Residues, 0.25), Math.Max(1000, proteins[i * 7].Residues.Length))[..1000]).ToArray();
        foreach (var query in benign.Take(20)) database.FindBest(query);   // warm-up (JIT, scratch arrays)

        var report = new StringBuilder();
        report.AppendLine("Start: " + BenchmarkMachine.Describe());
        report.AppendLine(CultureInfo.InvariantCulture, $"Database: {database.Count:N0} generated proteins, {database.Residues:N0} residues; built in {build.Elapsed.TotalSeconds:F2} s; index and residues about {memory / 1048576.0:F0} MiB; {database.DroppedKmers} low-complexity 4-mers dropped.");
        report.AppendLine();
        report.AppendLine("| queries (1,000 residues) | n | median ms | p95 ms | max ms | mean ms | caught |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (name, queries) in new[] { ("random (no hit)", benign), ("a 25%-substituted database protein inside", hazardous) })
        {
            var times = new List<double>();
            var caught = 0;
            foreach (var query in queries)
            {
                var clock = Stopwatch.StartNew();
                if (database.FindBest(query) is not null) caught++;
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {queries.Length} | {times[times.Count / 2]:F2} | {times[(int)(times.Count * 0.95)]:F2} | {times[^1]:F2} | {times.Average():F2} | {caught} |");
        }
        report.AppendLine("End: " + BenchmarkMachine.Describe());
        output.WriteLine(report.ToString());
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "esmc-screening-speed.md"), report.ToString());
    }
}
