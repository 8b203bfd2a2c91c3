using EsmcFeaturePlatform.Abstractions.Files;
using EsmcFeaturePlatform.GraphQL;
using Microsoft.AspNetCore.Http.Features;

namespace EsmcFeaturePlatform.Server.Api;

/// <summary>
/// <c>PUT /api/v1/corpora/{name}</c> (admin): a corpus file streamed into the first corpus root
/// (<see cref="ServerFileRule.UploadRoot"/>), at most Esmc:Corpus:MaxUploadBytes, so no one needs shell access to the
/// server to index a corpus; then <c>indexCorpus(fastaPath: "NAME")</c>. The body goes to a hidden temporary file that
/// is renamed into place only when complete; an existing name is never overwritten (a job may be reading it).
/// </summary>
public static class CorpusUploadEndpoints
{
    public static WebApplication MapEsmcCorpusUpload(this WebApplication app)
    {
        app.MapPut("/api/v1/corpora/{name}", UploadAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        return app;
    }

    private static async Task UploadAsync(HttpContext http, string name, ServerFileRule files)
    {
        // A wrong key was refused by the read policy already; this is the role the route itself needs.
        if (http.GetCaller().Refusal(CallerRole.Admin, "Uploading a corpus") is { } refusal)
        {
            var status = refusal.Code == ErrorCodes.Unauthenticated ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
            await ApiErrors.WriteAsync(http, status, refusal.Code!, refusal.Message);
            return;
        }
        string target;
        try { target = files.UploadPath(name); }
        catch (ServerFileException ex)
        {
            await ApiErrors.WriteAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadUserInput, ex.Message);
            return;
        }
        var max = files.Options.MaxUploadBytes;
        if (http.Request.ContentLength > max)
        {
            await ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BadUserInput, $"The corpus is larger than {max:N0} bytes (Esmc:Corpus:MaxUploadBytes).");
            return;
        }
        if (File.Exists(target))
        {
            await ApiErrors.WriteAsync(http, StatusCodes.Status409Conflict, ErrorCodes.Conflict, $"A corpus named '{name}' already exists; upload under another name.");
            return;
        }
        // Kestrel's own 30 MB body limit would cut a corpus short; this route counts the bytes itself.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = null;

        var temporary = Path.Combine(files.UploadRoot, $".upload-{Guid.NewGuid():N}");
        long written = 0;
        try
        {
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await http.Request.Body.ReadAsync(buffer, http.RequestAborted)) > 0)
                {
                    written += n;
                    if (written > max)
                    {
                        await output.DisposeAsync();
                        File.Delete(temporary);
                        await ApiErrors.WriteAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.BadUserInput, $"The corpus is larger than {max:N0} bytes (Esmc:Corpus:MaxUploadBytes).");
                        return;
                    }
                    await output.WriteAsync(buffer.AsMemory(0, n), http.RequestAborted);
                }
            }
            File.Move(temporary, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            File.Delete(temporary);
            await ApiErrors.WriteAsync(http, StatusCodes.Status409Conflict, ErrorCodes.Conflict, $"A corpus named '{name}' already exists; upload under another name.");
            return;
        }
        finally
        {
            if (File.Exists(temporary) && (http.RequestAborted.IsCancellationRequested || written > max)) File.Delete(temporary);
        }
        http.Response.StatusCode = StatusCodes.Status201Created;
        await http.Response.WriteAsJsonAsync(new { name, bytes = written, fastaPath = name });
    }
}
