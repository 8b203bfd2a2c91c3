using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class DescriptionVersionType : ObjectGraphType<DescriptionVersion>
{
    public DescriptionVersionType()
    {
        Name = "DescriptionVersion";
        Description = "One version of a feature's description. Versions are never changed except by review, and all are kept.";
        Field<NonNullGraphType<IntGraphType>>("version").Description("1 for the first version, n + 1 for each later one.").Resolve(c => c.Source.Version);
        Field<NonNullGraphType<StringGraphType>>("label").Description("A short name for what the feature detects.").Resolve(c => c.Source.Label);
        Field<NonNullGraphType<StringGraphType>>("text").Description("The description: what the feature fires on and the evidence for it.").Resolve(c => c.Source.Text);
        Field<NonNullGraphType<DescriptionStatusType>>("status").Description("PROPOSED until reviewed, then APPROVED or REJECTED.").Resolve(c => c.Source.Status);
        Field<NonNullGraphType<DescriptionSourceType>>("source").Description("Who wrote it: AGENT, EVIDENCE, HUMAN or IMPORTED.").Resolve(c => c.Source.Source);
        Field<NonNullGraphType<StringGraphType>>("author").Description("Who proposed this version: the API key's name, or the describer (agent model, evidence-only).")
            .Resolve(c => c.Source.Author);
        Field<NonNullGraphType<StringGraphType>>("createdAt").Description("When it was proposed (UTC, ISO 8601).")
            .Resolve(c => Timestamp(c.Source.CreatedAt));
        Field<StringGraphType>("reviewer").Description("Who approved or rejected it (the API key's name); null while PROPOSED.")
            .Resolve(c => c.Source.Reviewer);
        Field<StringGraphType>("reviewedAt").Description("When it was approved or rejected (UTC, ISO 8601); null while PROPOSED.")
            .Resolve(c => c.Source.ReviewedAt is { } at ? Timestamp(at) : null);
        Field<FloatGraphType>("score").Description("For generated versions: the mean balanced accuracy, 0 to 1 (0.5 is chance), of detection and fuzzing tests on held-out proteins: how well the description predicts where the feature fires. Null when not scored (human and imported versions, or scoring failed).").Resolve(c => c.Source.Score);
        Field<StringGraphType>("reviewNote").Description("The reviewer's note; null when none was given or the version is still PROPOSED.").Resolve(c => c.Source.ReviewNote);
        Field<StringGraphType>("provenance").Description("For IMPORTED versions: the dataset, revision and file it came from.").Resolve(c => c.Source.Provenance);
    }

    private static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
