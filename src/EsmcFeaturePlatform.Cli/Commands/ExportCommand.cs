using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Cli.CommandLine;

namespace EsmcFeaturePlatform.Cli.Commands;

/// <summary>
/// <c>export</c>: every feature of one SAE from a running server, as JSON Lines or CSV. The bytes come from the
/// server's bulk route (<c>GET /api/v1/saes/{sae}/features.jsonl|.csv</c>, written by <see cref="FeatureExportWriter"/>)
/// and are copied through as they arrive, so memory holds one read buffer, never the set.
/// </summary>
public sealed class ExportCommand
{
    public const string ApiKeyVariable = "ESMC_API_KEY";

    private const int BufferBytes = 64 * 1024;
    // A server asking for a longer pause than this is reported rather than waited for.
    private static readonly TimeSpan LongestRetryWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    public static CommandSpec Spec { get; } = new(
        "export",
        "Download every feature of one SAE from a running server as JSON Lines, CSV or parquet (streamed).",
        $"""
        Reads GET SERVER/api/v1/saes/SAE/features.jsonl (or .csv, .parquet) and writes the rows as they arrive: index, label,
        description, status, source, score, maxActivation, documentCount, corpusSize, idf, topExampleIds. Parquet is typed
        (topExampleIds a list of strings), in row groups of {Corpus.FeatureDatasets.FeatureParquetWriter.RowGroupRows} features, and needs --out (it is binary).
        The row count is checked against the server's {FeatureExportWriter.FeatureCountHeader} header, so a cut-off download fails
        instead of passing for a complete one. The API key comes from --api-key or the {ApiKeyVariable} environment
        variable (not needed when the server allows anonymous reads). A 429 answer is retried after the server's
        Retry-After (up to --retries times, waits of at most {LongestRetryWait.TotalSeconds:F0} s), else reported.
        Exit code 0 on success; 1 with a one-line reason on stderr (server unreachable, unknown SAE, refused key,
        rate limited, cut-off download); 2 on a bad command line; 130 when interrupted.
        """,
        [
            new OptionSpec("server", "URL", "Base URL of the server, e.g. http://127.0.0.1:5080.", Required: true),
            new OptionSpec("sae", "ID", "SAE id, e.g. ESMC-300M-sae-layer23-k64-codebook65536/layer23 (see GET /api/v1/saes).", Required: true),
            new OptionSpec("format", "jsonl|csv|parquet", "Output format (the server's JSON Lines, RFC 4180 CSV, or parquet, which needs --out).", Default: "jsonl"),
            new OptionSpec("out", "FILE", "Write to FILE instead of stdout ('-' is stdout). Written to FILE.partial and renamed when the whole set arrived; on failure FILE.partial is removed and an existing FILE is left untouched.", Default: "stdout"),
            new OptionSpec("top-examples", "N", "Top example ids per feature (0..the server's page limit).", Default: "20"),
            new OptionSpec("api-key", "KEY", $"API key sent as 'Authorization: Bearer KEY'. Default: ${ApiKeyVariable} when set."),
            new OptionSpec("retries", "N", "How many times a 429 (rate limited) answer is retried after its Retry-After.", Default: "3"),
            new OptionSpec("quiet", null, "No progress or summary on stderr (errors are still printed)."),
        ]);

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var settings = Settings.From(Spec.Parse(args));
        using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15), AutomaticDecompression = DecompressionMethods.All })
        {
            // The body of a large SAE takes minutes; only the wait for the response headers is bounded.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        using var response = await SendAsync(http, settings, stderr, cancellationToken).ConfigureAwait(false);
        long? expected = response.Headers.TryGetValues(FeatureExportWriter.FeatureCountHeader, out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);

        var progress = new Progress(stderr, settings.Quiet);
        var rows = new RowCounter(settings.Format);
        if (settings.OutPath is null)
        {
            await CopyAsync(body, new TextSink(stdout), rows, progress, settings, cancellationToken).ConfigureAwait(false);
            CheckComplete(rows.Rows, expected, settings);
        }
        else
        {
            var partial = settings.OutPath + ".partial";
            try
            {
                await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes, useAsync: true))
                {
                    await CopyAsync(body, new FileSink(file), rows, progress, settings, cancellationToken).ConfigureAwait(false);
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                if (settings.Format == FeatureExportFormat.Parquet) rows.Rows = await ParquetRowsAsync(partial, settings, cancellationToken).ConfigureAwait(false);
                CheckComplete(rows.Rows, expected, settings);
                File.Move(partial, settings.OutPath, overwrite: true);
            }
            catch
            {
                // An incomplete export is worth nothing (it cannot be resumed): never leave it to be mistaken for one.
                File.Delete(partial);
                throw;
            }
        }
        progress.Finished(rows.Rows, settings.OutPath ?? "stdout");
        return Cli.Success;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, Settings settings, TextWriter stderr, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, settings.Url);
            if (settings.ApiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.ApiKey);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (!ct.IsCancellationRequested)
            {
                var why = ex.InnerException is SocketException socket ? socket.Message : ex.Message;
                throw new IOException($"cannot reach the server at {settings.Server}: {why}", ex);
            }
            catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
            {
                throw new IOException($"cannot reach the server at {settings.Server}: no connection within the connect timeout", ex);
            }
            if (response.IsSuccessStatusCode) return response;

            using (response)
            {
                var message = await ServerMessageAsync(response, ct).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var wait = RetryAfter(response);
                    if (attempt < settings.Retries && wait <= LongestRetryWait)
                    {
                        if (!settings.Quiet) stderr.WriteLine($"esmc export: rate limited by the server; retrying in {wait.TotalSeconds:F0} s (attempt {attempt + 1} of {settings.Retries})");
                        await Task.Delay(wait, ct).ConfigureAwait(false);
                        continue;
                    }
                    throw new InvalidOperationException($"the server refused the export with 429 (rate limited): {message}; Retry-After {wait.TotalSeconds:F0} s, {attempt} retries made");
                }
                var hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                    ? (settings.ApiKey is null ? $" (pass --api-key KEY or set {ApiKeyVariable})" : $" (check the key given by --api-key or {ApiKeyVariable})")
                    : "";
                throw new InvalidOperationException($"the server answered {status} ({response.ReasonPhrase}) for SAE '{settings.Sae}': {message}{hint}");
            }
        }
    }

    private static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;
        return TimeSpan.FromSeconds(1);
    }

    /// <summary>The message of the server's error body (<c>{"errors":[{"message":...}]}</c>), else the start of the body.</summary>
    private static async Task<string> ServerMessageAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
                && errors[0].TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                return message.GetString()!;
        }
        catch (JsonException)
        {
            // not the API's error shape (a proxy's page, say): show the text itself
        }
        text = text.Trim();
        return text.Length == 0 ? "(empty body)" : text.Length <= 200 ? text : text[..200] + "...";
    }

    private static async Task CopyAsync(Stream body, ISink sink, RowCounter rows, Progress progress, Settings settings, CancellationToken ct)
    {
        var buffer = new byte[BufferBytes];
        long bytes = 0;
        int read;
        try
        {
            while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                var chunk = buffer.AsMemory(0, read);
                rows.Add(chunk.Span);
                await sink.WriteAsync(chunk, ct).ConfigureAwait(false);
                bytes += read;
                progress.Received(rows.Rows, bytes);
            }
        }
        catch (HttpIOException ex) when (!ct.IsCancellationRequested)
        {
            throw new IOException($"the download from {settings.Server} broke off after {rows.Rows} features ({ex.Message})", ex);
        }
        catch (IOException ex) when (!ct.IsCancellationRequested && ex.InnerException is SocketException)
        {
            throw new IOException($"the download from {settings.Server} broke off after {rows.Rows} features ({ex.Message})", ex);
        }
        await sink.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A parquet file's rows from its footer, which a cut-off download lacks.</summary>
    private static async Task<long> ParquetRowsAsync(string path, Settings settings, CancellationToken ct)
    {
        try
        {
            return await Corpus.FeatureDatasets.FeatureParquetWriter.CountRowsAsync(path, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new IOException($"the parquet download from {settings.Server} is incomplete or damaged ({ex.Message})", ex);
        }
    }

    private static void CheckComplete(long rows, long? expected, Settings settings)
    {
        if (expected is { } n && rows != n)
            throw new IOException($"the download from {settings.Server} is incomplete: {rows} of {n} features arrived");
    }

    private interface ISink
    {
        ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken ct);

        Task FlushAsync(CancellationToken ct);
    }

    private sealed class FileSink(FileStream file) : ISink
    {
        public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken ct) => file.WriteAsync(chunk, ct);

        public Task FlushAsync(CancellationToken ct) => file.FlushAsync(ct);
    }

    /// <summary>Stdout is a <see cref="TextWriter"/> (so tests can capture it): decode as UTF-8, keeping characters split across reads.</summary>
    private sealed class TextSink(TextWriter writer) : ISink
    {
        private readonly Decoder decoder = new UTF8Encoding(false, throwOnInvalidBytes: true).GetDecoder();
        private char[] chars = new char[BufferBytes];

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken ct)
        {
            var needed = decoder.GetCharCount(chunk.Span, flush: false);
            if (needed > chars.Length) chars = new char[needed];
            var count = decoder.GetChars(chunk.Span, chars, flush: false);
            await writer.WriteAsync(chars.AsMemory(0, count), ct).ConfigureAwait(false);
        }

        public Task FlushAsync(CancellationToken ct) => writer.FlushAsync(ct);
    }

    /// <summary>
    /// Counts complete rows as bytes pass: JSON Lines rows end at '\n' (JSON escapes line breaks inside strings);
    /// CSV rows end at a line break outside quotes (descriptions may hold quoted line breaks), less the header.
    /// </summary>
    private sealed class RowCounter(FeatureExportFormat format)
    {
        private long lineEnds;
        private bool inQuotes;

        private long? parquetRows;

        /// <summary>Rows so far; for parquet, set from the file's footer once it is complete (binary: nothing to count on the way).</summary>
        public long Rows
        {
            get => parquetRows ?? (format == FeatureExportFormat.Csv ? Math.Max(0, lineEnds - 1) : lineEnds);
            set => parquetRows = value;
        }

        public void Add(ReadOnlySpan<byte> bytes)
        {
            if (format == FeatureExportFormat.Parquet) return;
            if (format == FeatureExportFormat.JsonLines)
            {
                lineEnds += bytes.Count((byte)'\n');
                return;
            }
            while (true)
            {
                // Outside quotes a row ends at '\n' or a quote opens; inside, only the closing quote matters
                // (a doubled "" closes and reopens, which leaves the state right).
                var at = inQuotes ? bytes.IndexOf((byte)'"') : bytes.IndexOfAny((byte)'"', (byte)'\n');
                if (at < 0) return;
                if (bytes[at] == '"') inQuotes = !inQuotes;
                else lineEnds++;
                bytes = bytes[(at + 1)..];
            }
        }
    }

    private sealed class Progress(TextWriter stderr, bool quiet)
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private TimeSpan lastReport;
        private long bytes;

        public void Received(long rows, long totalBytes)
        {
            bytes = totalBytes;
            if (quiet || clock.Elapsed - lastReport < ProgressInterval) return;
            lastReport = clock.Elapsed;
            stderr.WriteLine($"esmc export: {rows} features, {bytes / 1048576.0:F1} MiB, {rows / clock.Elapsed.TotalSeconds:F0} features/s");
        }

        public void Finished(long rows, string where)
        {
            if (quiet) return;
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            stderr.WriteLine($"esmc export: wrote {rows} features ({bytes / 1048576.0:F1} MiB) to {where} in {seconds:F1} s, {rows / seconds:F0} features/s, {bytes / 1048576.0 / seconds:F1} MiB/s");
        }
    }

    private sealed record Settings(
        string Server, string Sae, FeatureExportFormat Format, string? OutPath, int TopExamples, string? ApiKey, int Retries, bool Quiet)
    {
        public Uri Url
        {
            get
            {
                // The SAE id holds a '/', which the server accepts as is; everything else in it is escaped.
                var sae = string.Join('/', Sae.Split('/').Select(Uri.EscapeDataString));
                var extension = FeatureExportWriter.FileExtension(Format);
                return new Uri($"{Server.TrimEnd('/')}/api/v1/saes/{sae}/features.{extension}?topExamples={TopExamples.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        public static Settings From(ParsedArguments args)
        {
            var server = args.Required("server");
            if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query))
                throw new UsageException($"--server must be an http:// or https:// base URL such as http://127.0.0.1:5080; got '{server}'");
            var sae = args.Required("sae").Trim();
            if (sae.Length == 0) throw new UsageException("--sae must not be empty");
            FeatureExportFormat format;
            try { format = FeatureExportWriter.ParseFormat(args.Value("format") ?? "jsonl"); }
            catch (ArgumentException) { throw new UsageException($"--format must be jsonl, csv or parquet; got '{args.Value("format")}'"); }
            var outPath = args.Value("out") is "-" or null ? null : args.Value("out");
            if (format == FeatureExportFormat.Parquet && outPath is null)
                throw new UsageException("--format parquet writes a binary file: give --out FILE");
            if (outPath is not null)
            {
                if (Directory.Exists(outPath)) throw new UsageException($"--out '{outPath}' is a folder; expected a file name");
                var folder = Path.GetDirectoryName(Path.GetFullPath(outPath));
                if (folder is not null && !Directory.Exists(folder))
                    throw new DirectoryNotFoundException($"the folder of --out '{outPath}' does not exist");
            }
            var key = args.Value("api-key") ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
            return new Settings(server, sae, format, outPath, args.Int("top-examples", 0, 100_000) ?? 20,
                string.IsNullOrWhiteSpace(key) ? null : key.Trim(), args.Int("retries", 0, 100) ?? 3, args.Flag("quiet"));
        }
    }
}
