using EsmcFeaturePlatform.Abstractions.Configuration;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// What every role of the host shares for operators, in the shape of eShop's "service defaults": OpenTelemetry (the
/// platform's meter and spans, Orleans', ASP.NET Core's, HttpClient's and the runtime's) and the health checks, added
/// once; <c>/healthz</c> and (when <c>Esmc:Telemetry:Prometheus</c> is on) <c>/metrics</c> mapped once.
/// </summary>
public static class ServiceDefaults
{
    /// <summary>Orleans' meter and activity sources (Orleans.Diagnostics; spans cross grain calls with AddActivityPropagation).</summary>
    private const string OrleansMeter = "Microsoft.Orleans";

    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    public static WebApplicationBuilder AddEsmcServiceDefaults(this WebApplicationBuilder builder)
    {
        // The standard variable lives outside the section; copied in so the one binding and check see it.
        builder.Configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.OtlpEndpoint)}"] ??= builder.Configuration[TelemetryOptions.OtlpEndpointKey];
        var telemetry = builder.Services.BindValidatedOptions<TelemetryOptions>(builder.Configuration);
        builder.AddEsmcOpenTelemetry(telemetry);
        builder.Services.AddHealthChecks()
            .Add(SharedHealthCheck.Registration<StorageHealthCheck>(PlatformHealth.Storage))
            .Add(SharedHealthCheck.Registration<ClusterHealthCheck>(PlatformHealth.Cluster))
            .Add(SharedHealthCheck.Registration<ModelCatalogHealthCheck>(PlatformHealth.Models))
            // Search down leaves analysis and indexing working: degraded, not unavailable.
            .Add(SharedHealthCheck.Registration<SearchHealthCheck>(PlatformHealth.Search, HealthStatus.Degraded));
        return builder;
    }

    /// <summary>
    /// Nothing is collected that nobody reads: metrics when Prometheus or OTLP is on, traces and logs only with OTLP
    /// (spans kept in memory with no exporter would only cost). The platform's instruments cost a branch while unheard.
    /// </summary>
    private static void AddEsmcOpenTelemetry(this WebApplicationBuilder builder, TelemetryOptions telemetry)
    {
        if (!telemetry.CollectsMetrics) return;
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "esmc-feature-platform"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(PlatformTelemetry.Name, OrleansMeter)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();
                // A scrape answers what is recorded now (the exporter's default caches a scrape for 300 ms).
                if (telemetry.Prometheus) metrics.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            });
        if (!telemetry.ExportsOtlp) return;
        otel.WithTracing(tracing => tracing
                .AddSource(PlatformTelemetry.Name).AddSource(OrleansSources)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperatorPath(http.Request.Path))
                .AddHttpClientInstrumentation())
            .UseOtlpExporter();
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
    }

    /// <summary><c>/healthz</c> on every role; <c>/metrics</c> only when the operator turned Prometheus on (else 404).</summary>
    public static WebApplication MapEsmcDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(PlatformHealth.Path, new HealthCheckOptions
        {
            ResponseWriter = PlatformHealth.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        if (app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.Prometheus) app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    public const string MetricsPath = "/metrics";

    /// <summary>Probes and scrapes: not traced (they would drown the requests an operator looks for).</summary>
    private static bool IsOperatorPath(PathString path) => path.StartsWithSegments(PlatformHealth.Path) || path.StartsWithSegments(MetricsPath);
}
