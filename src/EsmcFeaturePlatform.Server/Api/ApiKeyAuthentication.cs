using EsmcFeaturePlatform.Abstractions.Configuration;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using EsmcFeaturePlatform.GraphQL;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// Authentication once per request, the ASP.NET Core way: <see cref="ApiKeyAuthenticationHandler"/> (scheme
/// <see cref="Scheme"/>) turns <c>Authorization: Bearer KEY</c> into <see cref="HttpContext.User"/> with the key's
/// name and role claims (<see cref="Caller.ToPrincipal"/>); the rate limiter, GraphQL and the REST routes read the
/// caller from there (<see cref="Caller.From"/>). Routes that read data require <see cref="ReadPolicy"/>.
/// </summary>
public static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";

    /// <summary>Reads: any valid key, or no key while <c>Esmc:Auth:AllowAnonymousReads</c>; a wrong key never.</summary>
    public const string ReadPolicy = "EsmcReads";

    public static IHostApplicationBuilder AddEsmcAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<AuthOptions>(builder.Configuration);
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(Scheme, null);
        builder.Services.AddSingleton<IAuthorizationHandler, ReadAccessHandler>();
        builder.Services.AddAuthorizationBuilder().AddPolicy(ReadPolicy, p => p.AddRequirements(new ReadAccess()));
        return builder;
    }

    /// <summary>The caller of this request, as the authentication handler found it.</summary>
    public static Caller GetCaller(this HttpContext http) => Caller.From(http.User);

    private sealed class ReadAccess : IAuthorizationRequirement;

    private sealed class ReadAccessHandler(IOptions<AuthOptions> options) : AuthorizationHandler<ReadAccess>
    {
        protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, ReadAccess requirement)
        {
            if (context.User.Identity?.IsAuthenticated == true) context.Succeed(requirement);
            // A wrong key is refused even where no key would do: the middleware keeps only successes, and the handler
            // caches its result for the request, so this asks it again at no cost.
            else if (options.Value.AllowAnonymousReads && context.Resource is HttpContext http && (await http.AuthenticateAsync(Scheme)).Failure is null)
                context.Succeed(requirement);
        }
    }
}

/// <summary>The configured keys by hash: compared in constant time, so timing leaks no key prefix.</summary>
public sealed class ApiKeys
{
    private readonly (byte[] Hash, Caller Caller)[] _keys;

    public ApiKeys(IOptions<AuthOptions> options)
    {
        _keys = options.Value.ApiKeys
            .Select(kv => (Hash(kv.Value.Key!), new Caller(kv.Key, Caller.TryParseRole(kv.Value.Role, out var role) ? role : throw new ArgumentException($"Unknown role '{kv.Value.Role}'."))))
            .ToArray();
    }

    /// <summary>The key's caller, or null for a key that is not configured. Every configured hash is compared.</summary>
    public Caller? Find(string key)
    {
        var hash = Hash(key);
        Caller? match = null;
        foreach (var (keyHash, caller) in _keys)
            if (CryptographicOperations.FixedTimeEquals(keyHash, hash)) match = caller;
        return match;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>
/// <c>Authorization: Bearer KEY</c> to a principal: no header is no result (anonymous), a valid key a principal with
/// its name and role, anything else a failure whose message the 401 carries. Challenges answer 401 in the API's error
/// shape (<see cref="ApiErrors"/>) with <c>WWW-Authenticate: Bearer</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string MalformedHeader = "The Authorization header must be 'Bearer KEY'.";
    public const string InvalidKey = "The API key is not valid.";
    public const string KeyRequired = "This server needs an API key (Authorization: Bearer KEY).";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrWhiteSpace(header)) return Task.FromResult(AuthenticateResult.NoResult());
        const string bearer = "Bearer ";
        if (!header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(header[bearer.Length..]))
            return Task.FromResult(AuthenticateResult.Fail(MalformedHeader));
        return Task.FromResult(keys.Find(header[bearer.Length..].Trim()) is { } caller
            ? AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(Scheme.Name), Scheme.Name))
            : AuthenticateResult.Fail(InvalidKey));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.Headers.WWWAuthenticate = "Bearer";
        await ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated, result.Failure?.Message ?? KeyRequired);
    }
}
