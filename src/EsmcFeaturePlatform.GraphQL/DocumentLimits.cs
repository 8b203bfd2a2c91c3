using EsmcFeaturePlatform.Abstractions;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// The static limits a GraphQL document must meet before graphql-dotnet validates or executes it (issue 15): length,
/// parser nesting, selection depth, and the fields, aliases and fragment spreads it would have once every fragment is
/// expanded. Each fragment is summarised once and its summary reused at every spread (memoised), so a document whose
/// expansion doubles at each of 25 fragments costs 25 summaries to measure, not 2^25 fields to walk. Only a document
/// that passes is expanded, and then only as far as the limits allow: the field-merge check below and the request
/// cost (<see cref="RequestCost"/>) walk it in time proportional to <see cref="ApiOptions.MaxFields"/>.
/// </summary>
public static class DocumentLimits
{
    /// <summary>Parses <paramref name="query"/> and checks every limit; the first broken limit is thrown as BAD_USER_INPUT.</summary>
    public static GraphQLDocument ParseAndCheck(string query, ApiOptions options)
    {
        if (query.Length > options.MaxDocumentChars)
            throw Refuse($"The document is {query.Length} characters long; the limit is {options.MaxDocumentChars} (Esmc:Api:MaxDocumentChars).");
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(query, new ParserOptions { Ignore = IgnoreOptions.Comments, MaxDepth = options.MaxNesting });
        }
        catch (GraphQLMaxDepthExceededException)
        {
            throw Refuse($"The document is nested more than {options.MaxNesting} levels deep (selections, lists or objects; Esmc:Api:MaxNesting); flatten it.");
        }
        catch (GraphQLParserException ex)
        {
            throw Refuse($"Syntax error at line {ex.Location.Line}, column {ex.Location.Column}: {InputExcerpt.Bound(ex.Description)}");
        }
        Check(document, options);
        return document;
    }

    /// <summary>The limits of an already parsed document (see the class summary).</summary>
    public static void Check(GraphQLDocument document, ApiOptions options)
    {
        var fragments = new Dictionary<string, GraphQLFragmentDefinition>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLOperationDefinition { Operation: OperationType.Subscription }:
                    throw Refuse("Subscriptions are not supported by this API: send a query (or a mutation) and poll, e.g. job(id) for a job's progress.");
                case GraphQLOperationDefinition:
                    break;
                case GraphQLFragmentDefinition fragment:
                    fragments.TryAdd(fragment.FragmentName.Name.StringValue, fragment);
                    break;
                default:
                    // Type, schema and directive definitions (and extensions) belong in a schema, not in a request.
                    throw Refuse($"A request holds only operations and fragments; it holds a {Describe(definition.Kind)} at line {Line(document, definition)}. Remove it.");
            }
        }
        var summaries = new Summaries(fragments);
        foreach (var definition in document.Definitions)
        {
            if (definition is not GraphQLOperationDefinition operation) continue;
            var summary = summaries.Of(operation.SelectionSet);
            Limit(summary.Depth, options.MaxDepth, "levels of selections deep", "MaxDepth");
            Limit(summary.Fields, options.MaxFields, "fields once its fragments are expanded", "MaxFields");
            Limit(summary.Aliases, options.MaxAliases, "aliased fields once its fragments are expanded", "MaxAliases");
            Limit(summary.Spreads, options.MaxFragmentSpreads, "fragment spreads once its fragments are expanded", "MaxFragmentSpreads");
        }
        // Within the limits now, so expanding is bounded by MaxFields.
        foreach (var definition in document.Definitions)
            if (definition is GraphQLOperationDefinition operation)
                FieldMerge.Check(document, [operation.SelectionSet], fragments);
    }

    private static void Limit(long value, int limit, string what, string option)
    {
        if (value > limit)
        {
            var shown = value >= Summary.Saturated ? $"more than {Summary.Saturated:N0}" : value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
            throw Refuse($"The operation is {shown} {what}; the limit is {limit:N0} (Esmc:Api:{option}).");
        }
    }

    internal static PlatformError Refuse(string message) => PlatformError.BadInput(message);

    private static string Describe(ASTNodeKind kind) =>
        kind.ToString().Replace("TypeDefinition", " type definition").Replace("Definition", " definition").Replace("Extension", " extension").ToLowerInvariant();

    private static int Line(GraphQLDocument document, ASTNode node)
    {
        var source = document.Source.Span;
        var end = Math.Clamp(node.Location.Start, 0, source.Length);
        var line = 1;
        foreach (var c in source[..end]) if (c == '\n') line++;
        return line;
    }

    /// <summary>What a selection set amounts to once expanded; counts saturate instead of overflowing.</summary>
    private readonly record struct Summary(long Fields, long Aliases, long Spreads, int Depth)
    {
        public const long Saturated = 1L << 40;

        public static Summary operator +(Summary a, Summary b) =>
            new(Add(a.Fields, b.Fields), Add(a.Aliases, b.Aliases), Add(a.Spreads, b.Spreads), Math.Max(a.Depth, b.Depth));

        private static long Add(long a, long b) => Math.Min(Saturated, a + b);
    }

    /// <summary>Summaries of selection sets, each fragment's computed once (memo) and refused when it spreads itself.</summary>
    private sealed class Summaries(Dictionary<string, GraphQLFragmentDefinition> fragments)
    {
        private readonly Dictionary<string, Summary?> _memo = new(StringComparer.Ordinal);   // null while being computed

        public Summary Of(GraphQLSelectionSet set)
        {
            var total = default(Summary);
            foreach (var selection in set.Selections)
            {
                total += selection switch
                {
                    GraphQLField field => new Summary(1, field.Alias is null ? 0 : 1, 0, 1)
                        + (field.SelectionSet is { } child ? Deeper(Of(child)) : default),
                    GraphQLInlineFragment inline => Of(inline.SelectionSet),
                    GraphQLFragmentSpread spread => new Summary(0, 0, 1, 0) + OfFragment(spread.FragmentName.Name.StringValue),
                    _ => default,
                };
            }
            return total;
        }

        private static Summary Deeper(Summary s) => s with { Depth = s.Depth + 1 };

        private Summary OfFragment(string name)
        {
            if (_memo.TryGetValue(name, out var known))
                return known ?? throw Refuse($"Fragment {InputExcerpt.Quote(name)} spreads itself (directly or through other fragments); fragments must not form cycles.");
            if (!fragments.TryGetValue(name, out var fragment)) return default;   // unknown fragments are reported by validation
            _memo[name] = null;
            var summary = Of(fragment.SelectionSet);
            _memo[name] = summary;
            return summary;
        }
    }
}

/// <summary>
/// "Fields with one response name must be mergeable", checked in time linear in the expanded document. It replaces
/// graphql-dotnet's OverlappingFieldsCanBeMerged rule, which compares every pair of same-named fields (quadratic) and
/// reports each pair (200 conflicting fields: 19,900 errors, 6.5 MB). This schema has no interfaces or unions, so every
/// field of a merged selection set has the same parent type, and the specification's rule reduces to: fields with the
/// same response name have the same field name and the same arguments, and their sub-selections merge in turn. The
/// first conflict is reported, once.
/// </summary>
internal static class FieldMerge
{
    public static void Check(GraphQLDocument document, List<GraphQLSelectionSet> sets, Dictionary<string, GraphQLFragmentDefinition> fragments)
    {
        var groups = new Dictionary<string, List<GraphQLField>>(StringComparer.Ordinal);
        foreach (var set in sets) Collect(set, groups, fragments, []);
        foreach (var (responseName, fields) in groups)
        {
            var first = fields[0];
            for (var i = 1; i < fields.Count; i++)
            {
                var other = fields[i];
                if (first.Name.StringValue != other.Name.StringValue)
                    throw DocumentLimits.Refuse($"Fields {InputExcerpt.Quote(responseName)} conflict: '{Short(first.Name)}' and '{Short(other.Name)}' share the response name {InputExcerpt.Quote(responseName)}. Give them different aliases.");
                if (!SameArguments(document, first, other))
                    throw DocumentLimits.Refuse($"Fields {InputExcerpt.Quote(responseName)} conflict: they have different arguments under one response name. Give them different aliases.");
            }
            var children = fields.Where(f => f.SelectionSet is not null).Select(f => f.SelectionSet!).ToList();
            if (children.Count > 0) Check(document, children, fragments);
        }
    }

    private static string Short(GraphQLName name) => InputExcerpt.Quote(name.StringValue).Trim('\'');

    private static void Collect(GraphQLSelectionSet set, Dictionary<string, List<GraphQLField>> groups, Dictionary<string, GraphQLFragmentDefinition> fragments, HashSet<string> spreading)
    {
        foreach (var selection in set.Selections)
        {
            switch (selection)
            {
                case GraphQLField field:
                    var name = (field.Alias?.Name ?? field.Name).StringValue;
                    if (!groups.TryGetValue(name, out var list)) groups[name] = list = [];
                    list.Add(field);
                    break;
                case GraphQLInlineFragment inline:
                    Collect(inline.SelectionSet, groups, fragments, spreading);
                    break;
                case GraphQLFragmentSpread spread when fragments.TryGetValue(spread.FragmentName.Name.StringValue, out var fragment):
                    // Cycles were refused by the summaries; the set only guards this walk on its own.
                    if (spreading.Add(fragment.FragmentName.Name.StringValue))
                    {
                        Collect(fragment.SelectionSet, groups, fragments, spreading);
                        spreading.Remove(fragment.FragmentName.Name.StringValue);
                    }
                    break;
            }
        }
    }

    /// <summary>The same argument names with the same values, compared as written (variables by name).</summary>
    private static bool SameArguments(GraphQLDocument document, GraphQLField a, GraphQLField b)
    {
        var left = a.Arguments?.Items ?? [];
        var right = b.Arguments?.Items ?? [];
        if (left.Count != right.Count) return false;
        foreach (var argument in left)
        {
            var match = right.FirstOrDefault(r => r.Name.StringValue == argument.Name.StringValue);
            if (match is null) return false;
            if (!Text(document, argument.Value).SequenceEqual(Text(document, match.Value))) return false;
        }
        return true;
    }

    private static ReadOnlySpan<char> Text(GraphQLDocument document, ASTNode node) =>
        document.Source.Span[node.Location.Start..node.Location.End];
}
