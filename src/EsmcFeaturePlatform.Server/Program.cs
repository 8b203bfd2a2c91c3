using EsmcFeaturePlatform.Server.Api;
using EsmcFeaturePlatform.Server.Hosting;
using EsmcFeaturePlatform.Web;

// The platform host: an Orleans silo and the GraphQL API in one process by default (Esmc:Role = all | silo | api).
var builder = WebApplication.CreateBuilder(args);
builder.AddEsmcDefaults();            // 127.0.0.1:5080, Esmc options, DataRoot
builder.AddEsmcServiceDefaults();     // OpenTelemetry (/metrics with Esmc:Telemetry:Prometheus, OTLP by OTEL_EXPORTER_OTLP_ENDPOINT), health checks
builder.AddEsmcStorageEmulator();     // Azurite when the storage is the emulator and nothing listens
builder.AddEsmcInference();           // IFeatureEncoder over the model root (demo root on first start; Esmc:Models:Pull fetched first)
builder.AddEsmcSearch();              // IFeatureIndex per Esmc:Search:Provider (before Orleans: the silo's search sync needs it)
builder.AddEsmcDescriber();           // IFeatureDescriber for describeFeatures jobs (evidence-only without Esmc:Agent:Endpoint)
builder.AddEsmcSafety();              // IScreeningPolicy: controlled sequences and keywords at every entry point, audited
builder.AddEsmcOrleans();             // silo (grains, Azure blob state, clustering) or cluster client
var platform = builder.Configuration.GetPlatformOptions();
if (platform.HostsApi) builder.AddEsmcGraphQLApi();   // schema, limits, error codes, API-key authentication
if (platform.HostsApi) builder.AddEsmcWebPage();      // the web page at / (static files, a client of /graphql)
if (platform.HostsApi) builder.AddEsmcRateLimits();   // per API key / anonymous client, 429 + Retry-After
if (platform.HostsApi) builder.AddEsmcAlphaFold();    // Esmc:AlphaFold: models fetched on request (size cap, timeout, cache)

var app = builder.Build();
if (platform.HostsApi) app.UseAuthentication();   // HttpContext.User from Authorization: Bearer KEY, once per request
if (platform.HostsApi) app.UseRateLimiter();      // per caller, so after authentication
if (platform.HostsApi) app.MapEsmcWebPage();
if (platform.HostsApi) app.UseAuthorization();    // the API routes' read policy; the page's files before it are public
app.MapEsmcDefaultEndpoints();                       // /healthz (storage, cluster, models, search), /metrics when on
app.MapEsmcEndpoints(platform.HostsApi);
if (platform.HostsApi) app.MapEsmcRestEndpoints();   // /api/v1: bulk export, Biohub-style feature routes
if (platform.HostsApi) app.MapEsmcAlphaFold();       // /api/v1/structures/alphafold/{uniprotId}
if (platform.HostsApi) app.MapEsmcCorpusUpload();    // PUT /api/v1/corpora/{name}: admins upload a corpus into Esmc:Corpus:Roots
app.Run();

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
