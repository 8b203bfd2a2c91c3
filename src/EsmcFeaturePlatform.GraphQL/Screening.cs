using EsmcFeaturePlatform.Abstractions;
using GraphQL;
using GraphQL.Types;
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

public sealed class ScreeningEventType : ObjectGraphType<ScreeningEventEdge>
{
    public ScreeningEventType()
    {
        Name = "ScreeningEvent";
        Description = "One audited screening match (admins only).";
        Field<NonNullGraphType<StringGraphType>>("time").Resolve(c => c.Source.Event.Time.UtcDateTime.ToString("O"));
        Field<NonNullGraphType<StringGraphType>>("caller").Description("The API key's name, or anonymous.").Resolve(c => c.Source.Event.Caller);
        Field<StringGraphType>("clientHash").Description("For anonymous callers: a salted hash of the client address.").Resolve(c => c.Source.Event.ClientHash);
        Field<NonNullGraphType<StringGraphType>>("entryPoint").Resolve(c => c.Source.Event.EntryPoint);
        Field<StringGraphType>("subject").Description("Which record of a file (indexCorpus).").Resolve(c => c.Source.Event.Subject);
        Field<NonNullGraphType<StringGraphType>>("kind").Description("SEQUENCE or KEYWORD.").Resolve(c => c.Source.Event.Kind.ToString().ToUpperInvariant());
        Field<NonNullGraphType<StringGraphType>>("sha256").Description("SHA-256 (hex) of the screened sequence (after the input rule) or text.").Resolve(c => c.Source.Event.Sha256);
        Field<NonNullGraphType<IntGraphType>>("length").Resolve(c => c.Source.Event.Length);
        Field<StringGraphType>("content").Description("The sequence or text itself, only when Esmc:Safety:StoreSequences is on.").Resolve(c => c.Source.Event.Content);
        Field<NonNullGraphType<StringGraphType>>("entry").Description("The database entry id or the keyword that matched.").Resolve(c => c.Source.Event.Entry);
        Field<NonNullGraphType<StringGraphType>>("category").Resolve(c => c.Source.Event.Category);
        Field<NonNullGraphType<FloatGraphType>>("identity").Description("Identity of the best alignment (1 for keywords).").Resolve(c => c.Source.Event.Identity);
        Field<NonNullGraphType<IntGraphType>>("alignmentLength").Description("Columns of the best alignment (0 for keywords).").Resolve(c => c.Source.Event.AlignmentLength);
        Field<NonNullGraphType<StringGraphType>>("action").Description("BLOCKED, FLAGGED or ALLOWED_EXEMPT.").Resolve(c => c.Source.Event.Action);
    }
}

public sealed class ScreeningEventEdgeType : ObjectGraphType<ScreeningEventEdge>
{
    public ScreeningEventEdgeType()
    {
        Name = "ScreeningEventEdge";
        Field<NonNullGraphType<StringGraphType>>("cursor").Resolve(c => c.Source.Cursor);
        Field<NonNullGraphType<ScreeningEventType>>("node").Resolve(c => c.Source);
    }
}

public sealed class ScreeningEventConnectionType : ObjectGraphType<ScreeningEventPage>
{
    public ScreeningEventConnectionType()
    {
        Name = "ScreeningEventConnection";
        Field<NonNullGraphType<IntGraphType>>("totalCount").Resolve(c => c.Source.TotalCount);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ScreeningEventEdgeType>>>>("edges").Resolve(c => c.Source.Edges);
        Field<NonNullGraphType<PageInfoType>>("pageInfo").Resolve(c => new PageInfoView(c.Source.HasNextPage, c.Source.EndCursor));
    }
}

internal static class ScreeningFields
{
    public static void AddQueries(ObjectGraphType query)
    {
        query.Field<NonNullGraphType<ScreeningEventConnectionType>>("screeningEvents")
            .Description("admin. The biosecurity screening audit log, newest first.")
            .Argument<IntGraphType>("first", a => a.DefaultValue = 50)
            .Argument<StringGraphType>("after")
            .ResolveAsync(async c =>
            {
                c.User().Require(CallerRole.Admin, "screeningEvents");
                var first = c.Queries().RequirePageSize(c.GetArgument<int?>("first") ?? 50, "first");
                try
                {
                    return await c.RequestServices!.GetRequiredService<IScreeningAuditLog>().ReadAsync(first, c.GetArgument<string?>("after"), c.CancellationToken);
                }
                catch (ArgumentException ex)
                {
                    throw PlatformError.BadInput(ex.Message);
                }
            });
    }
}
