using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Mutation.proposeDescription, reviewDescription and describeFeatures: writing and reviewing feature descriptions (docs/contracts.md, section 3.3).</summary>
internal static class CurationMutations
{
    public const int MaxLabelLength = 200;
    public const int MaxTextLength = 20_000;

    public static void Add(ObjectGraphType mutation)
    {
        mutation.Field<NonNullGraphType<DescriptionVersionType>>("proposeDescription")
            .Description("curator. Adds version n+1 (PROPOSED, HUMAN, author = the API key's name). With expectedVersion, refused with CONFLICT (nothing written) when the latest version differs.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<IntGraphType>>("index", "The feature index, 0 to Sae.codebookSize - 1.")
            .Argument<NonNullGraphType<StringGraphType>>("label", "A short name for what the feature detects (trimmed; 1 to 200 characters), e.g. \"C2H2 zinc finger: zinc-binding cysteines\".")
            .Argument<NonNullGraphType<StringGraphType>>("text", "The description itself (trimmed; 1 to 20,000 characters): what the feature fires on and the evidence for it.")
            .Argument<IntGraphType>("expectedVersion", "The latest version you read (0 when the feature had none): the proposal is refused with CONFLICT if another was added since. Null skips the check.")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Curator, "proposeDescription");
                var key = await RequireFeatureAsync(c);
                var label = RequireText(c.GetArgument<string>("label"), "label", MaxLabelLength);
                var text = RequireText(c.GetArgument<string>("text"), "text", MaxTextLength);
                var expected = c.GetArgument<int?>("expectedVersion");
                if (expected is < 0) throw PlatformError.BadInput($"Argument 'expectedVersion' must be 0 (no version yet) or more; got {expected}.");
                var outcome = await c.Queries().ProposeDescriptionAsync(key, new DescriptionProposal(label, text, user.Caller.Name, expected));
                return Unwrap(outcome);
            });

        mutation.Field<NonNullGraphType<DescriptionVersionType>>("reviewDescription")
            .Description("curator. Approves or rejects a PROPOSED version, recording the reviewer (the API key's name) and the time; approving makes it the feature's description (earlier approved versions stay in the history). Reviewing a version twice is a CONFLICT naming who reviewed it; approving a version one proposed oneself is FORBIDDEN unless Esmc:Curation:AllowSelfApproval is set.")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<NonNullGraphType<IntGraphType>>("index", "The feature index, 0 to Sae.codebookSize - 1.")
            .Argument<NonNullGraphType<IntGraphType>>("version", "The PROPOSED version to review (DescriptionVersion.version, 1 or more).")
            .Argument<NonNullGraphType<ReviewDecisionType>>("decision", "APPROVE or REJECT.")
            .Argument<StringGraphType>("note", "Why, for the record (at most 20,000 characters); null for none.")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Curator, "reviewDescription");
                var key = await RequireFeatureAsync(c);
                var version = c.GetArgument<int>("version");
                if (version < 1) throw PlatformError.BadInput($"Argument 'version' must be 1 or more; got {version}.");
                var note = c.GetArgument<string?>("note");
                if (note is { Length: > MaxTextLength }) throw PlatformError.BadInput($"Argument 'note' is longer than {MaxTextLength} characters.");
                var allowSelf = c.RequestServices!.GetRequiredService<Microsoft.Extensions.Options.IOptions<CurationOptions>>().Value.AllowSelfApproval;
                var outcome = await c.Queries().ReviewDescriptionAsync(key, new DescriptionReview(version, c.GetArgument<ReviewDecision>("decision"), note, user.Caller.Name, allowSelf));
                return Unwrap(outcome);
            });

        mutation.Field<NonNullGraphType<JobType>>("describeFeatures")
            .Description("curator or admin. Runs the description agent (or, with no Esmc:Agent:Endpoint, the evidence-only describer) over the given features, all when null; results are stored as PROPOSED versions. Progress through job(id).")
            .Argument<NonNullGraphType<IdGraphType>>("sae", "The SAE id (Sae.id).")
            .Argument<ListGraphType<NonNullGraphType<IntGraphType>>>("indices", "Feature indices to describe (0 to Sae.codebookSize - 1; duplicates ignored); null describes every feature of the SAE (those that never fired are skipped).")
            .ResolveAsync(async c =>
            {
                var user = c.User();
                user.Require(CallerRole.Curator, "describeFeatures");
                var queries = c.Queries();
                var sae = await queries.RequireSaeAsync(c.GetArgument<string>("sae"));
                var indices = c.GetArgument<int[]?>("indices");
                if (indices is not null)
                {
                    if (indices.Length == 0) throw PlatformError.BadInput("Argument 'indices' is empty; pass null to describe every feature.");
                    foreach (var i in indices) FeaturePlatformQueries.RequireIndex(sae, i, "indices");
                    indices = [.. indices.Distinct()];
                }
                return await queries.StartDescribeAsync(sae, indices, user.Caller);
            });
    }

    private static async Task<FeatureKey> RequireFeatureAsync(IResolveFieldContext c)
    {
        var sae = await c.Queries().RequireSaeAsync(c.GetArgument<string>("sae"));
        var index = c.GetArgument<int>("index");
        FeaturePlatformQueries.RequireIndex(sae, index);
        return new FeatureKey(sae.Id, index);
    }

    private static string RequireText(string? value, string argument, int max)
    {
        if (string.IsNullOrWhiteSpace(value)) throw PlatformError.BadInput($"Argument '{argument}' is empty.");
        value = value.Trim();
        if (value.Length > max) throw PlatformError.BadInput($"Argument '{argument}' is {value.Length} characters long; at most {max} are allowed.");
        return value;
    }

    private static DescriptionVersion Unwrap(CurationOutcome outcome) => outcome.Failure switch
    {
        CurationFailure.None => outcome.Version!,
        CurationFailure.Conflict => throw new PlatformError(ErrorCodes.Conflict, outcome.Message ?? "Conflict."),
        CurationFailure.SelfApproval => throw new PlatformError(ErrorCodes.Forbidden, outcome.Message ?? "A curator may not approve their own proposal."),
        _ => throw new PlatformError(ErrorCodes.NotFound, outcome.Message ?? "Not found."),
    };
}
