using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class ScreeningEventType : ObjectGraphType<ScreeningEventEdge>
{
    public ScreeningEventType()
    {
        Name = "ScreeningEvent";
        Description = "One audited screening match (admins only).";
        Field<NonNullGraphType<StringGraphType>>("time").Description("When the match happened (UTC, ISO 8601).").Resolve(c => c.Source.Event.Time.UtcDateTime.ToString("O"));
        Field<NonNullGraphType<StringGraphType>>("caller").Description("The API key's name, or anonymous.").Resolve(c => c.Source.Event.Caller);
        Field<StringGraphType>("clientHash").Description("For anonymous callers: a salted hash of the client address.").Resolve(c => c.Source.Event.ClientHash);
        Field<NonNullGraphType<StringGraphType>>("entryPoint").Description("The API entry that screened the input, e.g. graphql:analyzeSequence, graphql:searchFeatures or graphql:indexCorpus.").Resolve(c => c.Source.Event.EntryPoint);
        Field<StringGraphType>("subject").Description("Which record of a file (indexCorpus).").Resolve(c => c.Source.Event.Subject);
        Field<NonNullGraphType<StringGraphType>>("kind").Description("SEQUENCE or KEYWORD.").Resolve(c => c.Source.Event.Kind.ToString().ToUpperInvariant());
        Field<NonNullGraphType<StringGraphType>>("sha256").Description("SHA-256 (hex) of the screened sequence (after the input rule) or text.").Resolve(c => c.Source.Event.Sha256);
        Field<NonNullGraphType<IntGraphType>>("length").Description("Length of the screened sequence (residues) or text (characters).").Resolve(c => c.Source.Event.Length);
        Field<StringGraphType>("content").Description("The sequence or text itself, only when Esmc:Safety:StoreSequences is on.").Resolve(c => c.Source.Event.Content);
        Field<NonNullGraphType<StringGraphType>>("entry").Description("The database entry id or the keyword that matched.").Resolve(c => c.Source.Event.Entry);
        Field<NonNullGraphType<StringGraphType>>("category").Description("The category of the matched entry in the screening lists.").Resolve(c => c.Source.Event.Category);
        Field<NonNullGraphType<FloatGraphType>>("identity").Description("Identity of the best alignment (1 for keywords).").Resolve(c => c.Source.Event.Identity);
        Field<NonNullGraphType<IntGraphType>>("alignmentLength").Description("Columns of the best alignment (0 for keywords).").Resolve(c => c.Source.Event.AlignmentLength);
        Field<NonNullGraphType<StringGraphType>>("action").Description("BLOCKED, FLAGGED or ALLOWED_EXEMPT.").Resolve(c => c.Source.Event.Action);
    }
}
