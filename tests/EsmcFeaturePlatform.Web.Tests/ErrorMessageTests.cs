using System.Text.Json;
using Microsoft.Playwright;
using Xunit;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>
/// Each error code the server can send, as the served page shows it: the GraphQL answer carrying it is put on the wire
/// in place of the server's (Playwright's routing), the page under test is the real one in chromium.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class ErrorMessageTests(WebPlatform platform)
{
    [Fact]
    public async Task Every_error_code_the_server_sends_is_shown_with_its_own_message()
    {
        var page = await platform.NewPageAsync();
        await page.Context.AddInitScriptAsync($"localStorage.setItem('esmc.sae', {JsonSerializer.Serialize(WebPlatform.Sae)})");
        await page.GotoAsync(platform.BaseUrl + "/#/analyze");
        await page.WaitForFunctionAsync("() => window.esmc && window.esmc.ready === true");
        var code = "";
        await page.RouteAsync("**/graphql", async route =>
        {
            if (route.Request.Method == "POST" && route.Request.PostData?.Contains("analyzeSequence", StringComparison.Ordinal) == true)
                await route.FulfillAsync(new RouteFulfillOptions
                {
                    Status = code == "OVERLOADED" ? 429 : 200,
                    ContentType = "application/json",
                    Body = JsonSerializer.Serialize(new { errors = new[] { new { message = $"The server's own words about {code}.", extensions = new { code, retryAfterSeconds = 4 } } } }),
                });
            else await route.ContinueAsync();
        });
        await page.FillAsync("#seq", "MKTAYIAKQRQISFVKSHFSRQ");
        var shown = new List<string>();
        foreach (var each in PageScriptTests.ServerErrorCodes().Order(StringComparer.Ordinal))
        {
            code = each;
            await page.ClickAsync("#run");
            var box = page.Locator($"#status .error[data-code={each}]");
            await box.WaitForAsync();
            var text = (await box.TextContentAsync())!.Trim();
            // A code the page knows has its own message; an unknown one would be shown as "CODE: message".
            Assert.False(text.StartsWith(each + ":", StringComparison.Ordinal), $"{each} is shown as a code the page does not know: {text}");
            if (each == "SCREENED") Assert.DoesNotContain("server's own words", text);
            else Assert.Contains($"The server's own words about {each}.", text);
            shown.Add(each);
            await page.EvaluateAsync("() => { document.querySelector('#status').innerHTML = ''; }");
        }
        Assert.Contains("UNAVAILABLE", shown);
        await page.Context.CloseAsync();
    }
}
