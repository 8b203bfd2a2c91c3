using System.Net.Sockets;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>One request to storage as the fault rules see it.</summary>
public sealed record StorageRequest(string Method, int Port, string Path)
{
    /// <summary>The tests' Azurite ports (TestStorage): blobs hold grain state, tables the corpus.</summary>
    public bool IsBlob => Port == TestStorage.BlobPort;

    public bool IsTable => Port == TestStorage.TablePort;

    /// <summary>A write of a grain's state; Orleans names its blob after the grain type (e.g. "normalizationstats").</summary>
    public bool IsStateWrite(string grainType) => IsBlob && Method == "PUT" && Path.Contains(grainType, StringComparison.OrdinalIgnoreCase);

    /// <summary>A read of a grain's state (an activation loading it).</summary>
    public bool IsStateRead(string grainType) => IsBlob && Method == "GET" && Path.Contains(grainType, StringComparison.OrdinalIgnoreCase);

    /// <summary>An entity-group transaction: how CorpusTable claims a batch's new rows in one partition.</summary>
    public bool IsClaimTransaction => IsTable && Method == "POST" && Path.EndsWith("$batch", StringComparison.Ordinal);
}

/// <summary>
/// Storage faults injected into the REAL Azure storage clients of the platform (grain state in blobs, the corpus in a
/// table), as a policy in their HTTP pipelines that runs on every try, so the SDK's own retries meet each fault just
/// as they would meet a real one. The host adds every <see cref="HttpPipelinePolicy"/> service to those clients
/// (PlatformHosting.StorageClientOptions); the cluster's membership table is left alone. Four faults:
/// <list type="bullet">
/// <item>refuse: answer a chosen request with an HTTP error without sending it (what storage that refuses a write does),</item>
/// <item>drop the answer: send the request (storage applies it), then lose the answer as a reset connection would,</item>
/// <item>outage: every request fails to connect ("connection refused") for a while,</item>
/// <item>slow: a chosen request is sent late (storage under load).</item>
/// </list>
/// </summary>
public sealed class StorageFaults : HttpPipelinePolicy
{
    private sealed class Rule(Func<StorageRequest, bool> match, int times, Func<Exception>? refuse, TimeSpan? delay = null)
    {
        public Func<StorageRequest, bool> Match { get; } = match;
        public Func<Exception>? Refuse { get; } = refuse;   // null: drop the answer (or, with Delay, send it late)
        public TimeSpan? Delay { get; } = delay;
        public int Left = times;
    }

    private readonly object _gate = new();
    private readonly List<Rule> _rules = [];
    private readonly List<(Func<StorageRequest, bool> Trigger, TimeSpan Duration)> _outageTriggers = [];
    private DateTime _outageUntil = DateTime.MinValue;
    private int _injected;
    private int _outageStarts;

    /// <summary>Faults injected so far (each refused, dropped or cut-off try counts).</summary>
    public int Injected => Volatile.Read(ref _injected);

    /// <summary>Outages started so far.</summary>
    public int OutageStarts => Volatile.Read(ref _outageStarts);

    public bool InOutage { get { lock (_gate) return DateTime.UtcNow < _outageUntil; } }

    /// <summary>The next <paramref name="times"/> requests matching <paramref name="match"/> are answered with HTTP <paramref name="status"/>, unsent.</summary>
    public StorageFaults Refuse(Func<StorageRequest, bool> match, int times, int status = 503)
    {
        lock (_gate) _rules.Add(new Rule(match, times, () => new RequestFailedException(status, $"Injected storage fault: HTTP {status} (test).", status == 503 ? "ServerBusy" : "AuthorizationFailure", null)));
        return this;
    }

    /// <summary>The next <paramref name="times"/> requests matching <paramref name="match"/> are sent and applied, and their answer is lost.</summary>
    public StorageFaults DropAnswers(Func<StorageRequest, bool> match, int times)
    {
        lock (_gate) _rules.Add(new Rule(match, times, null));
        return this;
    }

    /// <summary>The next <paramref name="times"/> requests matching <paramref name="match"/> are sent after <paramref name="delay"/> (storage under load).</summary>
    public StorageFaults Slow(Func<StorageRequest, bool> match, int times, TimeSpan delay)
    {
        lock (_gate) _rules.Add(new Rule(match, times, null, delay));
        return this;
    }

    /// <summary>When a request matching <paramref name="trigger"/> first comes, storage goes away for <paramref name="duration"/> (that request included).</summary>
    public StorageFaults OutageOnFirst(Func<StorageRequest, bool> trigger, TimeSpan duration)
    {
        lock (_gate) _outageTriggers.Add((trigger, duration));
        return this;
    }

    /// <summary>When a request matching <paramref name="trigger"/> first comes, storage goes away until <see cref="EndOutage"/>.</summary>
    public StorageFaults OutageOnFirst(Func<StorageRequest, bool> trigger) => OutageOnFirst(trigger, TimeSpan.FromDays(1));

    /// <summary>Storage goes away now for <paramref name="duration"/>.</summary>
    public void OutageNow(TimeSpan duration)
    {
        lock (_gate) _outageUntil = DateTime.UtcNow + duration;
        Interlocked.Increment(ref _outageStarts);
    }

    /// <summary>Storage is back.</summary>
    public void EndOutage()
    {
        lock (_gate) _outageUntil = DateTime.MinValue;
    }

    /// <summary>Forgets every rule and ends any outage.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
            _outageTriggers.Clear();
            _outageUntil = DateTime.MinValue;
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var (drop, delay) = Decide(message);
        if (delay is { } wait) Thread.Sleep(wait);
        ProcessNext(message, pipeline);
        if (drop) throw AnswerLost();
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var (drop, delay) = Decide(message);
        if (delay is { } wait) await Task.Delay(wait);
        await ProcessNextAsync(message, pipeline);
        if (drop) throw AnswerLost();
    }

    private static IOException AnswerLost() => new("Injected storage fault: the connection was reset after the request was sent (test).");

    /// <summary>Throws for a refused request or one during an outage; says whether the answer is to be dropped, or the request sent late.</summary>
    private (bool Drop, TimeSpan? Delay) Decide(HttpMessage message)
    {
        var uri = message.Request.Uri.ToUri();
        var request = new StorageRequest(message.Request.Method.Method, uri.Port, Uri.UnescapeDataString(uri.AbsolutePath));
        Exception? refusal = null;
        var drop = false;
        TimeSpan? delay = null;
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            for (var i = 0; i < _outageTriggers.Count; i++)
            {
                if (!_outageTriggers[i].Trigger(request)) continue;
                _outageUntil = now + _outageTriggers[i].Duration;
                _outageTriggers.RemoveAt(i);
                Interlocked.Increment(ref _outageStarts);
                break;
            }
            if (now < _outageUntil)
            {
                refusal = new RequestFailedException(0, $"Connection refused ({uri.Host}:{uri.Port}) (injected outage, test).",
                    new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)));
            }
            else if (_rules.FirstOrDefault(r => r.Left > 0 && r.Match(request)) is { } rule)
            {
                rule.Left--;
                if (rule.Delay is not null) delay = rule.Delay;
                else if (rule.Refuse is null) drop = true;
                else refusal = rule.Refuse();
            }
        }
        if (refusal is not null || drop || delay is not null) Interlocked.Increment(ref _injected);
        if (refusal is not null) throw refusal;
        return (drop, delay);
    }
}
