using EsmcFeaturePlatform.Abstractions;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using EsmcFeaturePlatform.GraphQL;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// <c>GET /api/v1/structures/alphafold/{uniprotId}</c>: the AlphaFold DB model of a UniProt accession, as the PDB (or,
/// when the entry has none, mmCIF) file itself. The AlphaFold DB API answers <c>prediction/{accession}</c> with a JSON
/// array of entries carrying <c>entryId</c>, <c>pdbUrl</c> and <c>cifUrl</c>; the first entry is used.
/// </summary>
public static partial class AlphaFoldEndpoints
{
    /// <summary>The upstream did not answer usably (down, timed out, malformed, too large): HTTP 502/504.</summary>
    public const string UpstreamErrorCode = "UPSTREAM_UNAVAILABLE";

    /// <summary>UniProt's accession format (uniprot.org/help/accession_numbers).</summary>
    [GeneratedRegex("^(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})$")]
    private static partial Regex Accession();

    public static IHostApplicationBuilder AddEsmcAlphaFold(this IHostApplicationBuilder builder)
    {
        var options = builder.Services.BindValidatedOptions<AlphaFoldOptions>(builder.Configuration);
        builder.Services.AddSingleton(new AlphaFoldClient(options));
        return builder;
    }

    public static WebApplication MapEsmcAlphaFold(this WebApplication app)
    {
        app.MapGet("/api/v1/structures/alphafold/{uniprotId}", async (HttpContext http, string uniprotId, AlphaFoldClient client) =>
        {
            var id = uniprotId.Trim().ToUpperInvariant();
            if (!Accession().IsMatch(id))
            {
                await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput,
                    $"{InputExcerpt.Quote(uniprotId)} is not a UniProt accession (e.g. P69905, A0A1B0GTW7).");
                return;
            }
            var result = await client.FetchAsync(id, http.RequestAborted);
            if (result.Error is { } error)
            {
                await ApiErrors.WriteAsync(http, error.Status, error.Code, error.Message);
                return;
            }
            var model = result.Model!;
            http.Response.ContentType = model.Format == "cif" ? "chemical/x-mmcif" : "chemical/x-pdb";
            http.Response.Headers.ContentDisposition = $"inline; filename=\"{model.EntryId}.{model.Format}\"";
            http.Response.Headers["X-Esmc-Structure-Format"] = model.Format;
            http.Response.Headers["X-Esmc-Structure-Entry"] = model.EntryId;
            http.Response.Headers["X-Esmc-Structure-Source"] = model.Source;
            await http.Response.Body.WriteAsync(model.Content, http.RequestAborted);
        }).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        return app;
    }
}

/// <summary>A fetched model: the file's bytes, its format (<c>pdb</c> or <c>cif</c>), the AlphaFold entry and where it came from.</summary>
public sealed record AlphaFoldModel(string EntryId, string Format, string Source, byte[] Content);

public sealed record AlphaFoldError(int Status, string Code, string Message);

public sealed record AlphaFoldResult(AlphaFoldModel? Model, AlphaFoldError? Error);

/// <summary>Fetches and caches AlphaFold DB models; every failure becomes an <see cref="AlphaFoldError"/> a person can act on.</summary>
public sealed class AlphaFoldClient : IDisposable
{
    private const int MaxMetadataBytes = 1 << 20;

    private readonly AlphaFoldOptions options;
    private readonly HttpClient http;
    private readonly MemoryCache? cache;

    public AlphaFoldClient(AlphaFoldOptions options)
    {
        this.options = options;
        // The per-request timeout is ours (a linked token), so the message can say which limit was hit.
        http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("EsmcFeaturePlatform/1.0");
        if (options.CacheMegabytes > 0) cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = (long)options.CacheMegabytes << 20 });
    }

    public async Task<AlphaFoldResult> FetchAsync(string accession, CancellationToken aborted)
    {
        if (options.BaseUrl.Length == 0)
            return Fail(StatusCodes.Status503ServiceUnavailable, ErrorCodes.NotFound, $"Fetching from AlphaFold DB is turned off on this server ({AlphaFoldOptions.SectionName}:BaseUrl is empty).");
        if (cache?.TryGetValue(accession, out AlphaFoldModel? hit) == true && hit is not null) return new AlphaFoldResult(hit, null);

        var baseUri = new Uri(options.BaseUrl.EndsWith('/') ? options.BaseUrl : options.BaseUrl + "/");
        var metadataUri = new Uri(baseUri, "prediction/" + Uri.EscapeDataString(accession));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        try
        {
            var (status, metadata) = await GetAsync(metadataUri, MaxMetadataBytes, timeout.Token);
            if (status == HttpStatusCode.NotFound)
                return Fail(StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"AlphaFold DB has no prediction for UniProt accession {accession}.");
            if (status != HttpStatusCode.OK || metadata is null)
                return Fail(StatusCodes.Status502BadGateway, AlphaFoldEndpoints.UpstreamErrorCode, $"AlphaFold DB answered HTTP {(int)status} for {accession}; try again later.");
            (string EntryId, string Url, string Format)? entry;
            try { entry = ReadEntry(metadata); }
            catch (FormatException ex)
            {
                return Fail(StatusCodes.Status502BadGateway, AlphaFoldEndpoints.UpstreamErrorCode, $"AlphaFold DB's answer for {accession} is not usable: {ex.Message}");
            }
            if (entry is null)
                return Fail(StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"AlphaFold DB has no prediction for UniProt accession {accession}.");
            var (entryId, modelUrl, format) = entry.Value;
            // The model must come from the configured host: a metadata answer cannot send this server anywhere else.
            if (!Uri.TryCreate(baseUri, modelUrl, out var modelUri) || modelUri.Scheme is not ("http" or "https")
                || !string.Equals(modelUri.Host, baseUri.Host, StringComparison.OrdinalIgnoreCase))
                return Fail(StatusCodes.Status502BadGateway, AlphaFoldEndpoints.UpstreamErrorCode,
                    $"AlphaFold DB's model URL for {accession} ('{modelUrl}') is not on {baseUri.Host}: refused.");
            var max = options.MaxMegabytes << 20;
            var (fileStatus, content) = await GetAsync(modelUri, max, timeout.Token);
            if (fileStatus != HttpStatusCode.OK)
                return Fail(StatusCodes.Status502BadGateway, AlphaFoldEndpoints.UpstreamErrorCode, $"AlphaFold DB answered HTTP {(int)fileStatus} for the model file of {accession}.");
            if (content is null)
                return Fail(StatusCodes.Status502BadGateway, AlphaFoldEndpoints.UpstreamErrorCode,
                    $"The model file of {accession} is larger than {options.MaxMegabytes} MiB ({AlphaFoldOptions.SectionName}:MaxMegabytes).");
            var model = new AlphaFoldModel(entryId, format, modelUri.ToString(), content);
            cache?.Set(accession, model, new MemoryCacheEntryOptions { Size = content.Length, AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(12) });
            return new AlphaFoldResult(model, null);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            return Fail(StatusCodes.Status504GatewayTimeout, AlphaFoldEndpoints.UpstreamErrorCode,
                $"AlphaFold DB did not answer within {options.TimeoutSeconds} s ({AlphaFoldOptions.SectionName}:TimeoutSeconds); try again later.");
        }
        catch (HttpRequestException ex)
        {
            return Fail(StatusCodes.Status502BadGateway, AlphaFoldEndpoints.UpstreamErrorCode, $"AlphaFold DB cannot be reached ({baseUri.Host}): {ex.Message}");
        }
    }

    /// <summary>The status, and the body when it is 200 and no larger than <paramref name="max"/> bytes (null otherwise).</summary>
    private async Task<(HttpStatusCode Status, byte[]? Body)> GetAsync(Uri uri, int max, CancellationToken ct)
    {
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, null);
        if (response.Content.Headers.ContentLength > max) return (response.StatusCode, null);
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max) return (response.StatusCode, null);   // a missing or wrong Content-Length
            buffer.Write(chunk, 0, read);
        }
        return (response.StatusCode, buffer.ToArray());
    }

    /// <summary>
    /// The first entry of the metadata (a JSON array, or one object): its id and model URL, PDB preferred; null when
    /// there is no entry (the API's empty array for an unknown accession). Throws FormatException when it is malformed.
    /// </summary>
    private static (string EntryId, string Url, string Format)? ReadEntry(byte[] metadata)
    {
        JsonElement entry;
        try
        {
            using var document = JsonDocument.Parse(metadata);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() == 0) return null;
            entry = (root.ValueKind == JsonValueKind.Array ? root[0] : root).Clone();
        }
        catch (JsonException ex)
        {
            throw new FormatException("not JSON (" + ex.Message + ")", ex);
        }
        if (entry.ValueKind != JsonValueKind.Object) throw new FormatException("the entry is not a JSON object");
        var entryId = entry.TryGetProperty("entryId", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "AlphaFold";
        foreach (var (field, format) in new[] { ("pdbUrl", "pdb"), ("cifUrl", "cif") })
            if (entry.TryGetProperty(field, out var url) && url.ValueKind == JsonValueKind.String && url.GetString() is { Length: > 0 } u)
                return (entryId, u, format);
        throw new FormatException("the entry has neither pdbUrl nor cifUrl");
    }

    private static AlphaFoldResult Fail(int status, string code, string message) => new(null, new AlphaFoldError(status, code, message));

    public void Dispose()
    {
        http.Dispose();
        cache?.Dispose();
    }
}
