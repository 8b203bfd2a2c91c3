using System.Text.Json.Nodes;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>Shared steps of the curation, search and export tests: index a corpus, wait for a job or for search.</summary>
internal static class ApiTestHelpers
{
    /// <summary>The first <paramref name="entries"/> Swiss-Prot entries of the fixture (with feature tables and keywords).</summary>
    public static string WriteUniProtSubset(int entries)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "fixtures", "uniprot", "swissprot_sample.dat");
        var lines = new List<string>();
        var count = 0;
        foreach (var line in File.ReadLines(source))
        {
            lines.Add(line);
            if (line.StartsWith("//", StringComparison.Ordinal) && ++count == entries) break;
        }
        var path = Path.Combine(TestEnvironment.CorpusRoot, $"esmc-uniprot-{entries}-{Guid.NewGuid():N}.dat");
        File.WriteAllLines(path, lines);
        return path;
    }

    public static async Task<JsonNode> WaitForJobAsync(PlatformFactory platform, string id)
    {
        JsonNode polled;
        var deadline = DateTime.UtcNow.AddMinutes(3);   // guards against a hang; not a performance threshold
        do
        {
            await Task.Delay(100);
            // As an admin: a job's error is shown only to roles that may start jobs.
            polled = (await platform.DataAsync("query($id: ID!) { job(id: $id) { id kind sae status processed total error } }", new { id }, PlatformFactory.AdminKey))["job"]!;
        } while (polled["status"]!.GetValue<string>() is "QUEUED" or "RUNNING" && DateTime.UtcNow < deadline);
        return polled;
    }

    public static async Task<JsonNode> IndexAsync(PlatformFactory platform, string sae, string path, int topExamples = 5)
    {
        var job = (await platform.DataAsync("mutation($s: ID!, $p: String!, $t: Int!) { indexCorpus(sae: $s, fastaPath: $p, topExamples: $t) { id } }",
            new { s = sae, p = path, t = topExamples }, PlatformFactory.AdminKey))["indexCorpus"]!;
        var done = await WaitForJobAsync(platform, job["id"]!.GetValue<string>());
        Assert.Equal("COMPLETED", done["status"]!.GetValue<string>());
        return done;
    }

    /// <summary>Polls a search until <paramref name="accept"/> holds (the index follows grain state within seconds).</summary>
    public static async Task<JsonNode> SearchUntilAsync(PlatformFactory platform, string query, object variables, Func<JsonNode, bool> accept)
    {
        JsonNode result;
        var deadline = DateTime.UtcNow.AddSeconds(30);   // guards against a hang; not a performance threshold
        while (true)
        {
            result = (await platform.DataAsync(query, variables))["searchFeatures"]!;
            if (accept(result) || DateTime.UtcNow > deadline) return result;
            await Task.Delay(200);
        }
    }

    public static int[] Indices(JsonNode connection) =>
        [.. connection["edges"]!.AsArray().Select(e => e!["node"]!["index"]!.GetValue<int>())];
}
