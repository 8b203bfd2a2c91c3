using System.Text.Json.Serialization;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// The one writer of every error body the host writes itself (REST routes, GraphQL transport errors, authentication,
/// the rate limiter, corpus uploads): a GraphQL response holding only <c>errors</c>, each with a message and
/// <c>extensions.code</c> (README, "GraphQL API"), so a client reads every refusal the same way whichever route it called.
/// Errors raised while a GraphQL request runs are written by graphql-dotnet in the same shape
/// (<c>PlatformErrorInfoProvider</c>).
/// </summary>
public static class ApiErrors
{
    public const string Json = "application/json";

    /// <summary>Writes the error with <paramref name="status"/> as <paramref name="mediaType"/> (UTF-8).</summary>
    public static Task WriteAsync(HttpContext http, int status, string code, string message, string mediaType = Json)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new Body([new Error(message, new Extensions(code))]), options: null,
            contentType: mediaType + "; charset=utf-8", http.RequestAborted);
    }

    /// <summary>Sets <c>Retry-After</c> in whole seconds (at least 1, as clients read 0 as "now") and returns them.</summary>
    public static int SetRetryAfter(HttpContext http, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return seconds;
    }

    private sealed record Body([property: JsonPropertyName("errors")] Error[] Errors);

    private sealed record Error([property: JsonPropertyName("message")] string Message, [property: JsonPropertyName("extensions")] Extensions Extensions);

    private sealed record Extensions([property: JsonPropertyName("code")] string Code);
}
