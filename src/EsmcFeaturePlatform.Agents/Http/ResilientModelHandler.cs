using System.Globalization;
using System.Net;

namespace EsmcFeaturePlatform.Agents.Http;

/// <summary>Thrown when the endpoint did not answer one request within the configured time, after all retries.</summary>
public sealed class ModelTimeoutException(string message) : Exception(message);

/// <summary>
/// Sits under the OpenAI client (SK disables the SDK's own retries when it is given an HttpClient):
/// limits requests in flight, gives each attempt its own timeout, and retries 408/429/5xx answers,
/// dropped connections and timeouts with exponential backoff, waiting what a server's Retry-After
/// (or retry-after-ms) asks, capped.
/// </summary>
public sealed class ResilientModelHandler : DelegatingHandler
{
    private readonly SemaphoreSlim _slots;
    private readonly int _maxRetries;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private readonly Func<TimeSpan, CancellationToken, Task> _delay;

    public ResilientModelHandler(AgentOptions options, HttpMessageHandler? inner = null, Func<TimeSpan, CancellationToken, Task>? delay = null)
        : base(inner ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        ArgumentNullException.ThrowIfNull(options);
        _slots = new SemaphoreSlim(Math.Max(1, options.MaxConcurrency));
        _maxRetries = Math.Max(0, options.MaxRetries);
        _timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        _baseDelay = TimeSpan.FromSeconds(options.RetryBaseDelaySeconds);
        _maxDelay = TimeSpan.FromSeconds(options.MaxRetryDelaySeconds);
        _delay = delay ?? Task.Delay;
    }

    /// <summary>Requests sent, counting retries; lets operators and tests see what a run cost in calls.</summary>
    public int Attempts => _attempts;
    private int _attempts;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // A retry resends the same body, so it must be replayable.
        if (request.Content is not null) await request.Content.LoadIntoBufferAsync(cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var (response, wait) = await AttemptAsync(request, attempt, cancellationToken);
            if (response is not null) return response;
            await _delay(wait > _maxDelay ? _maxDelay : wait, cancellationToken);
        }
    }

    /// <summary>One try: the response to hand back, or null and how long to wait before the next try.</summary>
    private async Task<(HttpResponseMessage? Response, TimeSpan Wait)> AttemptAsync(HttpRequestMessage request, int attempt, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            Interlocked.Increment(ref _attempts);
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(_timeout);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, attemptCts.Token);
                // Reading the body inside the attempt makes a stalled body count against this attempt's timeout.
                if (response.Content is not null) await response.Content.LoadIntoBufferAsync(attemptCts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (attempt >= _maxRetries)
                    throw new ModelTimeoutException(string.Create(CultureInfo.InvariantCulture,
                        $"The model endpoint did not answer within {_timeout.TotalSeconds:0.###} s ({attempt + 1} attempts)."));
                return (null, Backoff(attempt));
            }
            catch (HttpRequestException) when (attempt < _maxRetries)
            {
                return (null, Backoff(attempt));
            }
            if (!IsTransient(response.StatusCode) || attempt >= _maxRetries) return (response, TimeSpan.Zero);
            var wait = RetryAfter(response) ?? Backoff(attempt);
            response.Dispose();
            return (null, wait);
        }
        finally
        {
            _slots.Release();
        }
    }

    private static bool IsTransient(HttpStatusCode code) =>
        code is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)code >= 500;

    private TimeSpan Backoff(int attempt)
    {
        var exp = _baseDelay.TotalMilliseconds * Math.Pow(2, attempt);
        // Jitter spreads out concurrent features that were throttled together.
        return TimeSpan.FromMilliseconds(exp * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
            return TimeSpan.FromMilliseconds(millis);
        var ra = response.Headers.RetryAfter;
        if (ra?.Delta is TimeSpan delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (ra?.Date is DateTimeOffset date)
        {
            var d = date - DateTimeOffset.UtcNow;
            return d < TimeSpan.Zero ? TimeSpan.Zero : d;
        }
        return null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _slots.Dispose();
        base.Dispose(disposing);
    }
}
