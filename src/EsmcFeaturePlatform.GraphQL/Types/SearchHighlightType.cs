using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record HighlightView(string Field, string[] Snippets);

public sealed class HighlightType : ObjectGraphType<HighlightView>
{
    public HighlightType()
    {
        Name = "SearchHighlight";
        Description = "Snippets of one indexed field with the matched terms in <em>…</em> (HTML-escaped otherwise).";
        Field<NonNullGraphType<StringGraphType>>("field").Description("The indexed field the snippets come from (e.g. label or text).").Resolve(c => c.Source.Field);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("snippets").Description("Excerpts of the field with the matched terms in <em>…</em>.").Resolve(c => c.Source.Snippets);
    }
}
