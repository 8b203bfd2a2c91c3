using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace EsmcFeaturePlatform.Agents.Tests.Infrastructure;

/// <summary>One request the server received, with helpers to read the OpenAI chat-completions body.</summary>
public sealed record RecordedRequest(int Sequence, string Method, string Path, string? Authorization, JsonObject Body)
{
    public JsonArray Messages => Body["messages"]?.AsArray() ?? [];

    public string SystemText => Messages.FirstOrDefault(m => (string?)m!["role"] is "system" or "developer")?["content"] is JsonNode c ? Text(c) : "";

    public IReadOnlyList<string> ToolNames =>
        Body["tools"]?.AsArray().Select(t => (string)t!["function"]!["name"]!).ToList() ?? [];

    public IEnumerable<JsonObject> MessagesWithRole(string role) => Messages.Select(m => m!.AsObject()).Where(m => (string?)m["role"] == role);

    public string LastUserText => MessagesWithRole("user").LastOrDefault()?["content"] is JsonNode c ? Text(c) : "";

    /// <summary>Every text the model was shown in this request, concatenated.</summary>
    public string AllText => string.Join("\n", Messages.Select(m => m!["content"] is JsonNode c ? Text(c) : ""));

    public static string Text(JsonNode content) => content is JsonArray parts
        ? string.Concat(parts.Select(p => (string?)p!["text"] ?? ""))
        : content.GetValue<string>();
}

/// <summary>What the server answers: status, body, headers, after an optional delay.</summary>
public sealed record ScriptedResponse(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null, TimeSpan Delay = default)
{
    private static int _ids;

    public static ScriptedResponse Content(string text, int promptTokens = 100, int completionTokens = 20) =>
        new(200, Completion(new JsonObject { ["role"] = "assistant", ["content"] = text }, "stop", promptTokens, completionTokens));

    public static ScriptedResponse ToolCalls(IEnumerable<(string Name, string Arguments)> calls, int promptTokens = 100, int completionTokens = 10)
    {
        var array = new JsonArray();
        foreach (var (name, args) in calls)
            array.Add(new JsonObject
            {
                ["id"] = "call_" + Interlocked.Increment(ref _ids).ToString(CultureInfo.InvariantCulture),
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = args },
            });
        return new(200, Completion(new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = array }, "tool_calls", promptTokens, completionTokens));
    }

    public static ScriptedResponse Error(int status, string message, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error" } }.ToJsonString(), headers);

    public ScriptedResponse After(TimeSpan delay) => this with { Delay = delay };

    private static string Completion(JsonObject message, string finish, int prompt, int completion) => new JsonObject
    {
        ["id"] = "chatcmpl-" + Interlocked.Increment(ref _ids).ToString(CultureInfo.InvariantCulture),
        ["object"] = "chat.completion",
        ["created"] = 1_700_000_000,
        ["model"] = "scripted-model",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = finish }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion },
    }.ToJsonString();
}

/// <summary>
/// An OpenAI-compatible chat-completions server on loopback HTTP (a random free port) whose answers a
/// test scripts, so the real Semantic Kernel OpenAI connector runs over a real socket.
/// </summary>
public sealed class ScriptedOpenAiServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _sequence;

    public ScriptedOpenAiServer(Func<RecordedRequest, ScriptedResponse> handler)
    {
        Handler = handler;
        (_listener, Port) = Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}/v1";
    public Func<RecordedRequest, ScriptedResponse> Handler { get; set; }
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    private static (HttpListener, int) Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(context));
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        try
        {
            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            var json = string.IsNullOrWhiteSpace(body) ? new JsonObject() : JsonNode.Parse(body)!.AsObject();
            var request = new RecordedRequest(Interlocked.Increment(ref _sequence), context.Request.HttpMethod,
                context.Request.Url!.AbsolutePath, context.Request.Headers["Authorization"], json);
            Requests.Enqueue(request);
            ScriptedResponse response;
            try
            {
                response = request.Path.EndsWith("/chat/completions", StringComparison.Ordinal)
                    ? Handler(request)
                    : ScriptedResponse.Error(404, "only /v1/chat/completions is scripted");
            }
            catch (Exception ex)
            {
                // A script bug shows up as a 599 the test can see, not as a hang.
                response = ScriptedResponse.Error(599, "script failed: " + ex.Message);
            }
            if (response.Delay > TimeSpan.Zero) await Task.Delay(response.Delay, _stop.Token);
            context.Response.StatusCode = response.Status;
            context.Response.ContentType = "application/json";
            foreach (var (k, v) in response.Headers ?? new Dictionary<string, string>()) context.Response.Headers[k] = v;
            var bytes = Encoding.UTF8.GetBytes(response.Body);
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes, _stop.Token);
            context.Response.Close();
        }
        catch (Exception)
        {
            // The client may have given up (timeout tests); nothing to answer then.
            try { context.Response.Abort(); } catch (ObjectDisposedException) { }
        }
    }

    public IReadOnlyList<RecordedRequest> ChatRequests => [.. Requests.OrderBy(r => r.Sequence)];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        try { await _loop; } catch (ObjectDisposedException) { }
        _stop.Dispose();
    }
}
