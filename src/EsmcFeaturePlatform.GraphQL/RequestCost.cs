using System.Collections;
using System.Globalization;
using GraphQL;
using GraphQLParser.AST;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// What a request will cost, estimated from its document and variables before anything runs, in units where a plain
/// field is 1: every field 1; <c>analyzeSequence</c> its residues; <c>searchFeatures</c> <see cref="SearchTermCost"/>
/// per query term (<see cref="ExpensiveSearchTermCost"/> for a fuzzy, wildcard or regular-expression term); every page
/// argument (<c>first</c>) and <c>indices</c> list 1 per <see cref="RowsPerUnit"/> features or rows it may read (a row is
/// a stored value, far cheaper than a residue's forward pass, and <c>first</c> is a cap that is often not reached). The
/// operation is walked expanded, which
/// <see cref="DocumentLimits"/> bounded by Esmc:Api:MaxFields before this runs.
/// </summary>
public static class RequestCost
{
    public const int SearchTermCost = 10;
    public const int ExpensiveSearchTermCost = 100;
    public const int RowsPerUnit = 10;

    /// <summary>The cost of the operation the request selects (none: 0; validation reports a missing operation).</summary>
    public static long Estimate(GraphQLDocument document, string? operationName, Inputs? variables)
    {
        GraphQLOperationDefinition? operation = null;
        var fragments = new Dictionary<string, GraphQLFragmentDefinition>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            if (definition is GraphQLFragmentDefinition fragment) fragments.TryAdd(fragment.FragmentName.Name.StringValue, fragment);
            else if (definition is GraphQLOperationDefinition candidate
                && (string.IsNullOrEmpty(operationName) ? operation is null : candidate.Name?.StringValue == operationName))
                operation = candidate;
        }
        return operation is null ? 0 : Walk(operation.SelectionSet, fragments, variables, []);
    }

    private static long Walk(GraphQLSelectionSet set, Dictionary<string, GraphQLFragmentDefinition> fragments, Inputs? variables, HashSet<string> spreading)
    {
        long cost = 0;
        foreach (var selection in set.Selections)
        {
            switch (selection)
            {
                case GraphQLField field:
                    cost += 1 + OfArguments(field, variables);
                    if (field.SelectionSet is { } child) cost += Walk(child, fragments, variables, spreading);
                    break;
                case GraphQLInlineFragment inline:
                    cost += Walk(inline.SelectionSet, fragments, variables, spreading);
                    break;
                case GraphQLFragmentSpread spread when fragments.TryGetValue(spread.FragmentName.Name.StringValue, out var fragment):
                    if (spreading.Add(fragment.FragmentName.Name.StringValue))
                    {
                        cost += Walk(fragment.SelectionSet, fragments, variables, spreading);
                        spreading.Remove(fragment.FragmentName.Name.StringValue);
                    }
                    break;
            }
        }
        return cost;
    }

    private static long OfArguments(GraphQLField field, Inputs? variables)
    {
        if (field.Arguments is null) return 0;
        long cost = 0;
        foreach (var argument in field.Arguments.Items)
        {
            var value = Resolve(argument.Value, variables);
            switch (argument.Name.StringValue)
            {
                case "sequence" when value is string sequence:
                    cost += sequence.Length;
                    break;
                case "query" when value is string query && field.Name.StringValue == "searchFeatures":
                    cost += SearchTerms(query);
                    break;
                case "first" when value is int or long or decimal or double:
                    cost += Rows((long)Math.Clamp(Convert.ToDouble(value, CultureInfo.InvariantCulture), 0, int.MaxValue));
                    break;
                case "indices" when value is ICollection list:
                    cost += Rows(list.Count);
                    break;
            }
        }
        return cost;
    }

    private static long Rows(long rows) => (rows + RowsPerUnit - 1) / RowsPerUnit;

    /// <summary>Terms of a search query as Lucene's syntax splits them, costed by how much of the index each scans.</summary>
    public static long SearchTerms(string query)
    {
        long cost = 0;
        foreach (var term in query.Split([' ', '\t', '\n', '\r', '(', ')'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (term is "AND" or "OR" or "NOT" or "&&" or "||" or "-" or "+") continue;
            cost += term.IndexOfAny(['~', '*', '?', '/']) >= 0 ? ExpensiveSearchTermCost : SearchTermCost;
        }
        return cost;
    }

    /// <summary>An argument's value as the resolver will see it: a literal, or the variable's raw input.</summary>
    private static object? Resolve(GraphQLValue value, Inputs? variables) => value switch
    {
        GraphQLVariable variable => variables is not null && variables.TryGetValue(variable.Name.StringValue, out var raw) ? raw : null,
        GraphQLStringValue text => text.Value.ToString(),
        GraphQLIntValue number => long.TryParse(number.Value.Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue,
        GraphQLListValue list => list.Values ?? [],
        _ => null,
    };
}
