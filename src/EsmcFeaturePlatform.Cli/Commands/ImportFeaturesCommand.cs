using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using EsmcFeaturePlatform.Cli.CommandLine;

namespace EsmcFeaturePlatform.Cli.Commands;

/// <summary>
/// <c>import-features</c>: asks a running server to import a published feature dataset (its GraphQL mutation
/// <c>importFeatureDataset</c>, admin key) and follows the job until it ends, printing its progress.
/// </summary>
public sealed class ImportFeaturesCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static CommandSpec Spec { get; } = new(
        "import-features",
        "Import a published feature dataset (parquet, e.g. biohub/ESMC-SAE-Features) into an SAE of a running server.",
        $"""
        Starts the server's importFeatureDataset job (GraphQL, admin role) for a parquet file or a folder of them on the
        SERVER's disk, then reports its progress until it completes. Descriptions become PROPOSED versions with source
        IMPORTED; UniRef90 max and idf become the SAE's imported normalization statistics; category, activation pattern
        and exemplar families become searchable; reference examples and published neighbours are kept. Importing the
        same file again changes nothing. Typical use, from an empty machine:
          esmc pull biohub/ESMC-SAE-Features --repo-type dataset --root ./data/datasets
          esmc import-features --server http://127.0.0.1:5080 --sae SAE_ID --path ./data/datasets/ESMC-SAE-Features
        The API key comes from --api-key or the {ExportCommand.ApiKeyVariable} environment variable. Exit code 0 when the job
        completed; 1 with the job's error when it failed or the server refused; with --no-wait, 0 once the job started.
        The job id is printed on stdout.
        """,
        [
            new OptionSpec("server", "URL", "Base URL of the server, e.g. http://127.0.0.1:5080.", Required: true),
            new OptionSpec("sae", "ID", "SAE id to import into (see GET /api/v1/saes).", Required: true),
            new OptionSpec("path", "PATH", "Parquet file or folder of them, as the server sees its disk.", Required: true),
            new OptionSpec("dataset", "REPO", "Dataset named in the descriptions' provenance.", Default: "biohub/ESMC-SAE-Features"),
            new OptionSpec("revision", "REV", "Revision named in provenance. Default: the commit 'esmc pull' recorded beside the file, if any."),
            new OptionSpec("api-key", "KEY", $"Admin API key sent as 'Authorization: Bearer KEY'. Default: ${ExportCommand.ApiKeyVariable} when set."),
            new OptionSpec("no-wait", null, "Print the job id and return once the job started."),
            new OptionSpec("quiet", null, "No progress on stderr (errors are still printed)."),
        ]);

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var parsed = Spec.Parse(args);
        var server = parsed.Required("server");
        if (!Uri.TryCreate(server.TrimEnd('/') + "/graphql", UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new UsageException($"--server must be an http:// or https:// base URL such as http://127.0.0.1:5080; got '{server}'");
        var key = parsed.Value("api-key") ?? Environment.GetEnvironmentVariable(ExportCommand.ApiKeyVariable);
        var quiet = parsed.Flag("quiet");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        var started = await QueryAsync(http, endpoint, key, server,
            "mutation($s: ID!, $p: String!, $d: String, $r: String) { importFeatureDataset(sae: $s, path: $p, dataset: $d, revision: $r) { id } }",
            new { s = parsed.Required("sae"), p = parsed.Required("path"), d = parsed.Value("dataset"), r = parsed.Value("revision") }, ct).ConfigureAwait(false);
        var id = started["importFeatureDataset"]!["id"]!.GetValue<string>();
        stdout.WriteLine(id);
        if (parsed.Flag("no-wait")) return Cli.Success;

        var last = "";
        while (true)
        {
            var job = (await QueryAsync(http, endpoint, key, server, "query($id: ID!) { job(id: $id) { status processed total error } }", new { id }, ct).ConfigureAwait(false))["job"]!;
            var status = job["status"]!.GetValue<string>();
            var line = $"esmc import-features: {id} {status}, {job["processed"]} of {job["total"]?.ToString() ?? "?"} rows";
            if (!quiet && line != last) stderr.WriteLine(line);
            last = line;
            if (status == "COMPLETED") return Cli.Success;
            if (status == "FAILED") throw new InvalidOperationException($"the import job {id} failed: {job["error"]?.GetValue<string>() ?? "(no reason given)"}");
            await Task.Delay(PollInterval, ct).ConfigureAwait(false);
        }
    }

    private static async Task<JsonNode> QueryAsync(HttpClient http, Uri endpoint, string? key, string server, string query, object variables, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = JsonContent.Create(new { query, variables }) };
        if (!string.IsNullOrWhiteSpace(key)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Trim());
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (!ct.IsCancellationRequested)
        {
            throw new IOException($"cannot reach the server at {server}: {(ex.InnerException is SocketException s ? s.Message : ex.Message)}", ex);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            JsonNode? body;
            try { body = JsonNode.Parse(text); }
            catch (JsonException) { body = null; }
            if (body?["errors"] is JsonArray { Count: > 0 } errors)
            {
                var code = errors[0]?["extensions"]?["code"]?.GetValue<string>();
                var hint = code is "UNAUTHENTICATED" or "FORBIDDEN" ? $" (an admin key is needed: --api-key KEY or {ExportCommand.ApiKeyVariable})" : "";
                throw new InvalidOperationException($"the server refused: {errors[0]?["message"]?.GetValue<string>()} ({code}){hint}");
            }
            if (!response.IsSuccessStatusCode || body?["data"] is not JsonNode data)
                throw new InvalidOperationException($"the server answered {(int)response.StatusCode} ({response.ReasonPhrase}) at {endpoint}: {(text.Length <= 200 ? text : text[..200] + "...")}");
            return data;
        }
    }
}
