using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// The GraphQL side of the biosecurity screening: each field that takes a sequence or a search text makes ONE call
/// here before using it (the server tests list every such argument and prove it). A blocked input is the error
/// code SCREENED with a message that does not say what matched.
/// </summary>
public static class Screening
{
    public const string RefusalMessage =
        "This request was refused by the platform's biosecurity screening (controlled pathogens and toxins). It was not processed. If you believe this is a mistake, contact the operator of this server.";

    public static async Task ScreenSequenceAsync(this IResolveFieldContext context, string? sequence, string entryPoint)
    {
        if (string.IsNullOrEmpty(sequence)) return;
        // A document may ask for the same sequence twice (the web page's raw and normalized aliases): screened and
        // audited once per request.
        var user = context.User();
        var key = $"screened:{entryPoint}:{sequence}";
        Task<ScreeningVerdict> screening;
        lock (user)
        {
            if (user.TryGetValue(key, out var known) && known is Task<ScreeningVerdict> earlier) screening = earlier;
            else user[key] = screening = Policy(context).ScreenSequenceAsync(sequence, new ScreeningRequest(entryPoint, user.ScreeningCaller()), context.CancellationToken);
        }
        if ((await screening).Blocked) throw new PlatformError(ErrorCodes.Screened, RefusalMessage);
    }

    public static async Task ScreenTextAsync(this IResolveFieldContext context, string? text, string entryPoint)
    {
        if (string.IsNullOrWhiteSpace(text)) return;
        var verdict = await Policy(context).ScreenTextAsync(text, new ScreeningRequest(entryPoint, context.User().ScreeningCaller()), context.CancellationToken);
        if (verdict.Blocked) throw new PlatformError(ErrorCodes.Screened, RefusalMessage);
    }

    public static ScreeningCaller ScreeningCaller(this PlatformUserContext user) =>
        new(user.Caller.Name, user.Caller.Role.ToString().ToLowerInvariant(), user.ClientAddress);

    private static IScreeningPolicy Policy(IResolveFieldContext context) =>
        context.RequestServices!.GetRequiredService<IScreeningPolicy>();
}
