using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Server.Hosting;

/// <summary>
/// Section <c>Esmc:Telemetry</c>: what the host exports. OTLP is not here: it follows OpenTelemetry's own standard
/// variable <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (and its OTEL_* companions), read through configuration as
/// <see cref="OtlpEndpointKey"/>, so collectors and orchestrators that set it need nothing platform-specific.
/// </summary>
public sealed class TelemetryOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Telemetry";

    /// <summary>The standard variable; when set (environment or any configuration source), traces, metrics and logs go there.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Serve <c>/metrics</c> in Prometheus text. Off by default: when on, anyone who reaches the port reads it, no key asked.</summary>
    public bool Prometheus { get; set; }

    /// <summary>From <see cref="OtlpEndpointKey"/> (<see cref="ServiceDefaults"/> copies it into this section before binding).</summary>
    public string? OtlpEndpoint { get; set; }

    public bool ExportsOtlp => !string.IsNullOrWhiteSpace(OtlpEndpoint);

    /// <summary>Metrics are collected only when something reads them.</summary>
    public bool CollectsMetrics => Prometheus || ExportsOtlp;

    public void Validate()
    {
        // The exporter would otherwise fail later, on a background thread, with a message that does not name the setting.
        if (ExportsOtlp && !(Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            throw new ArgumentException($"{OtlpEndpointKey} must be an absolute http(s) URL; got '{OtlpEndpoint}'.");
    }
}
