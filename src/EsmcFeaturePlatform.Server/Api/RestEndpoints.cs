using System.Globalization;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Corpus.FeatureDatasets;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.GraphQL;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>Read-only REST routes under /api/v1 (bulk export, Biohub-alpha-style feature routes), open to readers (<see cref="ApiKeyAuthentication.ReadPolicy"/>).</summary>
public static class RestEndpoints
{
    public const int DefaultTopExampleIds = 20;

    public static WebApplication MapEsmcRestEndpoints(this WebApplication app)
    {
        app.MapGet("/api/v1/saes", async (HttpContext http, FeaturePlatformQueries queries) =>
        {
            var catalog = await queries.GetCatalogAsync();
            await http.Response.WriteAsJsonAsync(new { saes = catalog.Saes.Select(s => new { id = s.Id, model = s.Model, layer = s.Layer, k = s.K, codebookSize = s.CodebookSize, isDemo = s.IsDemo, notice = s.Notice }) });
        }).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        // SAE ids hold a '/', so the SAE and what follows are parsed from one catch-all (a '%2F' works too).
        app.MapGet("/api/v1/saes/{**rest}", HandleSaeRouteAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        return app;
    }

    private static async Task HandleSaeRouteAsync(HttpContext http, string rest, FeaturePlatformQueries queries, IOptions<ApiOptions> api)
    {
        var path = Uri.UnescapeDataString(rest ?? "").TrimEnd('/');
        string saeId;
        string tail;
        var at = path.LastIndexOf("/features", StringComparison.Ordinal);
        if (at <= 0)
        {
            await ErrorAsync(http, StatusCodes.Status404NotFound, ErrorCodes.NotFound, "Routes: /api/v1/saes/{sae}/features[.jsonl|.csv|.parquet] and /api/v1/saes/{sae}/features/{index}.");
            return;
        }
        saeId = path[..at];
        tail = path[(at + "/features".Length)..];
        SaeDescriptor sae;
        try
        {
            sae = await queries.RequireSaeAsync(saeId);
        }
        catch (PlatformError ex)
        {
            await ErrorAsync(http, StatusCodes.Status404NotFound, ErrorCodes.NotFound, ex.Message);
            return;
        }
        var top = QueryInt(http, "topExamples", DefaultTopExampleIds);
        if (top is null || top < 0 || top > api.Value.MaxPageSize)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, $"Query parameter 'topExamples' must be an integer between 0 and {api.Value.MaxPageSize}.");
            return;
        }
        switch (tail)
        {
            case ".jsonl" or ".csv" or ".parquet":
                await ExportAsync(http, queries, sae, FeatureExportWriter.ParseFormat(tail[1..]), top.Value);
                return;
            case "":
                await ListAsync(http, queries, sae, top.Value, api.Value.MaxPageSize);
                return;
        }
        if (tail.StartsWith('/') && int.TryParse(tail.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            if (index >= sae.CodebookSize)
            {
                await ErrorAsync(http, StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"Feature index {index} is out of range for SAE '{sae.Id}': valid indices are 0..{sae.CodebookSize - 1}.");
                return;
            }
            var row = (await queries.Reader.ReadAsync(sae.Id, [index], top.Value, withAnnotationTerms: true))[0];
            await http.Response.WriteAsJsonAsync(FeatureJson(sae, row));
            return;
        }
        await ErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, $"{InputExcerpt.Quote(tail.TrimStart('/'))} is not a feature index (a non-negative integer) or an export format (.jsonl, .csv, .parquet).");
    }

    /// <summary>Streams every feature of the SAE, a page of grain reads at a time: the response never holds the whole set.</summary>
    private static async Task ExportAsync(HttpContext http, FeaturePlatformQueries queries, SaeDescriptor sae, FeatureExportFormat format, int top)
    {
        http.Response.ContentType = FeatureExportWriter.ContentType(format);
        var fileName = sae.Id.Replace('/', '_') + "." + FeatureExportWriter.FileExtension(format);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        http.Response.Headers[FeatureExportWriter.FeatureCountHeader] = sae.CodebookSize.ToString(CultureInfo.InvariantCulture);
        var records = RecordsAsync(queries.Reader, sae, top, http.RequestAborted);
        if (format == FeatureExportFormat.Parquet) await FeatureParquetWriter.WriteAsync(records, http.Response.Body, ct: http.RequestAborted);
        else await FeatureExportWriter.WriteAsync(records, http.Response.Body, format, http.RequestAborted);
    }

    private static async IAsyncEnumerable<FeatureExportRecord> RecordsAsync(IFeatureReader reader, SaeDescriptor sae, int top,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var row in reader.EnumerateAsync(sae, top, withAnnotationTerms: false, ct))
            yield return row.ToExportRecord();
    }

    /// <summary><c>?offset=&amp;limit=</c> paging over feature indices, with a <c>next</c> link like Biohub's alpha API.</summary>
    private static async Task ListAsync(HttpContext http, FeaturePlatformQueries queries, SaeDescriptor sae, int top, int maxLimit)
    {
        var offset = QueryInt(http, "offset", 0);
        var limit = QueryInt(http, "limit", 100);
        if (offset is null || offset < 0 || limit is null || limit < 1 || limit > maxLimit)
        {
            await ErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, $"Query parameters 'offset' (0 or more) and 'limit' (1..{maxLimit}) must be integers.");
            return;
        }
        var indices = Enumerable.Range(offset.Value, Math.Max(0, Math.Min(limit.Value, sae.CodebookSize - offset.Value))).ToArray();
        var rows = await queries.Reader.ReadAsync(sae.Id, indices, top, withAnnotationTerms: false);
        var nextOffset = offset.Value + indices.Length;
        string? next = nextOffset < sae.CodebookSize
            ? $"/api/v1/saes/{sae.Id}/features?offset={nextOffset}&limit={limit.Value}&topExamples={top}"
            : null;
        await http.Response.WriteAsJsonAsync(new { sae = sae.Id, offset = offset.Value, limit = limit.Value, total = sae.CodebookSize, next, notice = sae.Notice, features = rows.Select(r => FeatureJson(sae, r)) });
    }

    private static object FeatureJson(SaeDescriptor sae, FeatureRow row)
    {
        var d = row.Snapshot.Current;
        var record = row.ToExportRecord();
        return new
        {
            sae = record.Sae,
            index = record.Index,
            notice = sae.Notice,
            label = d?.Label,
            description = d?.Text,
            status = d?.Status.ToString().ToUpperInvariant(),
            source = d?.Source.ToString().ToUpperInvariant(),
            score = d?.Score,
            version = d?.Version,
            statistics = new
            {
                maxActivation = record.MaxActivation is { } m ? FloatOutput.ToDouble(m) : (double?)null,
                documentCount = record.DocumentCount,
                corpusSize = record.CorpusSize,
                idf = record.Idf,
            },
            topExampleIds = record.TopExampleIds,
            topExamples = row.Snapshot.TopExampleIds.Zip(row.Snapshot.TopExampleValues, (id, v) => new { sequenceId = id, maxValue = FloatOutput.ToDouble(v) }),
            annotationTerms = row.AnnotationTerms,
        };
    }

    private static int? QueryInt(HttpContext http, string name, int fallback)
    {
        var raw = http.Request.Query[name];
        if (raw.Count == 0) return fallback;
        return int.TryParse(raw[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    internal static Task ErrorAsync(HttpContext http, int status, string code, string message) => ApiErrors.WriteAsync(http, status, code, message);
}
