using Microsoft.Playwright;
using Xunit;

namespace EsmcFeaturePlatform.Web.Tests;

/// <summary>"Readable at any width from a laptop to a wide monitor": no page scrolls sideways; only the track view does.</summary>
[Collection(WebCollection.Name)]
public sealed class LayoutTests(WebPlatform platform)
{
    [Theory]
    [InlineData(390, 844)]
    [InlineData(2560, 1440)]
    public async Task No_page_is_wider_than_the_window(int width, int height)
    {
        var context = await platform.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(120_000);
        await page.GotoAsync(platform.BaseUrl + "/#/analyze");
        await page.WaitForFunctionAsync("() => window.esmc && window.esmc.ready === true");
        await page.SelectOptionAsync("#sae", WebPlatform.Sae);
        await page.ClickAsync("#demo");
        await page.Locator("#result[data-ready=true]").WaitForAsync();
        var overflow = new List<string>();
        foreach (var hash in new[] { "#/analyze", "#/structure", "#/search", "#/curate", "#/console", "#/feature?index=3" })
        {
            await page.EvaluateAsync("h => { location.hash = h; }", hash);
            await page.WaitForFunctionAsync("() => document.querySelector('main').dataset.ready === 'true'");
            var sizes = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
            if (sizes[0] > sizes[1]) overflow.Add($"{hash}: {sizes[0]} px wide in a {sizes[1]} px window");
        }
        await page.EvaluateAsync("() => { location.hash = '#/analyze'; }");
        await page.Locator("#tracks canvas").WaitForAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = WebPlatform.ScreenshotPath($"analyze-{width}.png"), FullPage = true });
        await context.CloseAsync();
        Assert.Empty(overflow);
    }
}
