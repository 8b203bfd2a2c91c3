using EsmcFeaturePlatform.GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// The SDL is the API's documentation for the scientists who use it: every type, field, argument and enum value the
/// server serves must say what it is (units, ranges, what null means). This walks the schema the server builds (the
/// same registration as the host, without a cluster: building the schema calls no resolver).
/// </summary>
public sealed class SchemaDescriptionTests
{
    [Fact]
    public void Every_type_field_argument_and_enum_value_of_the_schema_has_a_description()
    {
        var services = new ServiceCollection();
        services.AddEsmcGraphQL(new ConfigurationBuilder().Build(), exposeInternals: false);
        using var provider = services.BuildServiceProvider();
        var schema = provider.GetRequiredService<ISchema>();
        schema.Initialize();

        var missing = new List<string>();
        var walked = new List<string>();
        foreach (var type in schema.AllTypes)
        {
            // Introspection and the built-in scalars are graphql-dotnet's, documented by the GraphQL specification (enums derive from ScalarGraphType too).
            if (type.Name.StartsWith("__", StringComparison.Ordinal) || type is ScalarGraphType and not EnumerationGraphType) continue;
            walked.Add(type.Name);
            if (string.IsNullOrWhiteSpace(type.Description)) missing.Add($"type {type.Name}");
            if (type is IComplexGraphType complex)
            {
                foreach (var field in complex.Fields)
                {
                    if (string.IsNullOrWhiteSpace(field.Description)) missing.Add($"field {type.Name}.{field.Name}");
                    foreach (var argument in field.Arguments ?? [])
                        if (string.IsNullOrWhiteSpace(argument.Description)) missing.Add($"argument {type.Name}.{field.Name}({argument.Name})");
                }
            }
            if (type is EnumerationGraphType enumeration)
                foreach (var value in enumeration.Values)
                    if (string.IsNullOrWhiteSpace(value.Description)) missing.Add($"enum value {type.Name}.{value.Name}");
        }
        // The walk reached the roots and a type found only through a mutation's argument: the whole schema, not a part.
        Assert.Superset(new HashSet<string> { "Query", "Mutation", "Feature", "ReviewDecision" }, walked.ToHashSet());
        Assert.True(missing.Count == 0, "Without a description in the SDL:\n  " + string.Join("\n  ", missing));
    }
}
