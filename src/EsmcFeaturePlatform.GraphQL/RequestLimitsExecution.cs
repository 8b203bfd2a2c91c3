using GraphQL;
using GraphQL.DI;
using GraphQL.Validation;
using GraphQL.Validation.Rules;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>
/// Every request's bounds, before graphql-dotnet validates or runs anything: the document's static limits
/// (<see cref="DocumentLimits"/>; a document from <see cref="GraphQLDocumentCache"/> passed them when it was cached), then
/// the request's cost against the caller's budget and rate limit (<see cref="RequestCost"/>, with this request's
/// variables). After execution, an answer carries at most <see cref="ApiOptions.MaxErrors"/> errors.
/// </summary>
internal sealed class RequestLimitsExecution(ApiOptions api) : IConfigureExecution
{
    // After the document cache (200), so a cached document skips parsing and the static checks it already passed.
    public float SortOrder => 250;

    public async Task<ExecutionResult> ExecuteAsync(ExecutionOptions options, ExecutionDelegate next)
    {
        try
        {
            if (options.Document is null)
            {
                options.Document = DocumentLimits.ParseAndCheck(options.Query ?? "", api);
                // FieldMerge (run by DocumentLimits) replaces the quadratic overlapping-fields rule.
                options.ValidationRules = (options.ValidationRules ?? DocumentValidator.CoreRules).Where(r => r is not OverlappingFieldsCanBeMerged).ToList();
            }
            if (options.UserContext is PlatformUserContext user) Charge(options, user);
        }
        catch (PlatformError error)
        {
            return new ExecutionResult { Errors = [error] };
        }
        var result = await next(options);
        if (result.Errors is { } errors && errors.Count > api.MaxErrors)
        {
            var kept = new ExecutionErrors();
            foreach (var error in errors.Take(api.MaxErrors)) kept.Add(error);
            kept.Add(new PlatformError(errors[0].Code is { } code && ErrorCodes.All.Contains(code) ? code : ErrorCodes.BadUserInput,
                $"{errors.Count - api.MaxErrors} more errors were left out (Esmc:Api:MaxErrors = {api.MaxErrors})."));
            result.Errors = kept;
        }
        return result;
    }

    private void Charge(ExecutionOptions options, PlatformUserContext user)
    {
        var cost = RequestCost.Estimate(options.Document!, options.OperationName, options.Variables);
        user.Cost = cost;
        var anonymous = !user.Caller.IsAuthenticated;
        var budget = anonymous ? api.AnonymousMaxCost : api.MaxCost;
        if (cost > budget)
        {
            var option = anonymous ? "AnonymousMaxCost" : "MaxCost";
            var hint = anonymous ? " or send an API key (Authorization: Bearer KEY), whose budget is " + api.MaxCost.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "";
            throw PlatformError.BadInput(
                $"The request would cost {cost:N0} units (1 per field, 1 per residue analyzed, {RequestCost.SearchTermCost} per search term, 1 per {RequestCost.RowsPerUnit} rows a page may read); " +
                $"the limit per request is {budget:N0} (Esmc:Api:{option}). Split it into smaller requests{hint}.");
        }
        if (user.ChargeCost?.Invoke(cost) is { } retryAfter)
        {
            user.RetryAfter = retryAfter;
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            throw new PlatformError(ErrorCodes.Overloaded, $"Rate limit exceeded by this request's cost ({cost:N0} units); retry after {seconds} s (Esmc:RateLimit).");
        }
    }
}
