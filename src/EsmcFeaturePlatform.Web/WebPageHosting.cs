using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace EsmcFeaturePlatform.Web;

/// <summary>
/// The web page: a client of the platform's own GraphQL API, served as static files at / (index.html, JavaScript
/// modules, CSS, vendored 3Dmol.js). Nothing is fetched from the internet at run time.
/// </summary>
public static class WebPageHosting
{
    /// <summary>The folder beside the binaries that holds the page (copied there by the build).</summary>
    public static string DefaultRoot => Path.Combine(AppContext.BaseDirectory, "esmc-web");

    public static WebApplicationBuilder AddEsmcWebPage(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(new WebPageOptions(builder.Configuration[$"{WebPageOptions.SectionName}:Root"] is { Length: > 0 } root ? root : DefaultRoot));
        return builder;
    }

    public static WebApplication MapEsmcWebPage(this WebApplication app)
    {
        var options = app.Services.GetService<WebPageOptions>() ?? new WebPageOptions(DefaultRoot);
        if (!File.Exists(Path.Combine(options.Root, "index.html")))
        {
            app.Logger.LogWarning("The web page is not served: no index.html in {Root}", options.Root);
            return app;
        }
        var files = new PhysicalFileProvider(Path.GetFullPath(options.Root));
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".mjs"] = "text/javascript";
        types.Mappings[".cif"] = "chemical/x-cif";
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers.CacheControl = "no-cache";   // revalidate (ETag): a new build is picked up at once
                headers.XContentTypeOptions = "nosniff";
            },
        });
        // A browser opening the API's address (Accept: text/html) gets the GraphQL IDE, not a JSON error; a program's
        // GET /graphql reaches the API, which runs queries over GET.
        app.Use((http, next) =>
        {
            if (HttpMethods.IsGet(http.Request.Method) && http.Request.Path.Equals("/graphql", StringComparison.OrdinalIgnoreCase)
                && http.Request.Headers.Accept.Any(a => a is not null && a.Contains("text/html", StringComparison.OrdinalIgnoreCase)))
            {
                http.Response.Redirect("/graphiql.html" + http.Request.QueryString);
                return Task.CompletedTask;
            }
            return next(http);
        });
        return app;
    }
}
