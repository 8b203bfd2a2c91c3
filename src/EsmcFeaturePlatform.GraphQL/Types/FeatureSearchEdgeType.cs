using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace EsmcFeaturePlatform.GraphQL;

public sealed record SearchEdgeView(FeatureSearchHit Hit, FeatureView Node);

public sealed class FeatureSearchEdgeType : ObjectGraphType<SearchEdgeView>
{
    public FeatureSearchEdgeType()
    {
        Name = "FeatureSearchEdge";
        Description = "One search hit.";
        Field<NonNullGraphType<StringGraphType>>("cursor").Description("Opaque position of this hit; pass as `after` to continue after it.").Resolve(c => c.Source.Hit.Cursor);
        Field<NonNullGraphType<FloatGraphType>>("score").Description("Relevance from the search index: higher is better; only comparable within one search.").Resolve(c => c.Source.Hit.Score);
        Field<NonNullGraphType<FeatureType>>("node").Description("The feature found.").Resolve(c => c.Source.Node);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<HighlightType>>>>("highlights").Description("Where the query matched: one entry per matching field, by field name.")
            .Resolve(c => HighlightsByField(c.Source.Hit.Highlights));
    }

    /// <summary>Highlights in field-name order (a stable order for clients), without LINQ: every search result resolves this 20 times.</summary>
    private static HighlightView[] HighlightsByField(IReadOnlyDictionary<string, string[]> highlights)
    {
        var views = new HighlightView[highlights.Count];
        var i = 0;
        foreach (var (field, snippets) in highlights) views[i++] = new HighlightView(field, snippets);
        Array.Sort(views, static (a, b) => string.CompareOrdinal(a.Field, b.Field));
        return views;
    }
}
