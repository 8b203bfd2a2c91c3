using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>The <c>extensions.code</c> values of docs/contracts.md, section 3.4.</summary>
public static class ErrorCodes
{
    public const string BadUserInput = "BAD_USER_INPUT";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string Forbidden = "FORBIDDEN";
    public const string Conflict = "CONFLICT";
    public const string NotFound = "NOT_FOUND";
    public const string Overloaded = "OVERLOADED";
    /// <summary>Storage was away or failed on its side: nothing was changed (or the outcome is unknown); retry after <c>extensions.retryAfterSeconds</c>.</summary>
    public const string Unavailable = "UNAVAILABLE";
    public const string Internal = "INTERNAL";
    /// <summary>Refused by the biosecurity screening (README, "Safety"); the message never says what matched.</summary>
    public const string Screened = "SCREENED";

    public static readonly IReadOnlySet<string> All = new HashSet<string>
    {
        BadUserInput, Unauthenticated, Forbidden, Conflict, NotFound, Overloaded, Unavailable, Internal, Screened,
    };
}

/// <summary>An error meant for the caller: its message is safe to show and names the problem.</summary>
public sealed class PlatformError : ExecutionError
{
    public PlatformError(string code, string message) : base(message) => Code = code;

    public static PlatformError BadInput(string message) => new(ErrorCodes.BadUserInput, message);
}

/// <summary>
/// Gives every error one of the contract codes: document (syntax/validation/variable) errors are the caller's
/// input; exceptions from the encoder port keep their meaning; storage failures are UNAVAILABLE with a retry hint
/// (<c>extensions.retryAfterSeconds</c>); anything else is INTERNAL and, outside Development, shows no message or
/// stack from inside the server.
/// </summary>
public sealed class PlatformErrorInfoProvider(bool exposeInternals)
    : ErrorInfoProvider(o => { o.ExposeExceptionDetails = exposeInternals; o.ExposeCodes = false; o.ExposeData = false; })
{
    public override ErrorInfo GetInfo(ExecutionError executionError)
    {
        var info = base.GetInfo(executionError);
        var (code, safeMessage) = Classify(executionError);
        var extensions = info.Extensions is null ? new Dictionary<string, object?>() : new Dictionary<string, object?>(info.Extensions);
        extensions["code"] = code;
        if (code == ErrorCodes.Unavailable)
            extensions["retryAfterSeconds"] = FindInChain<StorageUnavailableException>(executionError)?.RetryAfterSeconds ?? StorageUnavailableException.DefaultRetryAfterSeconds;
        info.Message = InputExcerpt.Bound(safeMessage ?? info.Message);
        info.Extensions = extensions;
        return info;
    }

    private (string Code, string? SafeMessage) Classify(ExecutionError error)
    {
        if (error is PlatformError) return (error.Code!, null);
        if (error is DocumentError or ValidationError) return (ErrorCodes.BadUserInput, null);
        if (FindInChain<StorageUnavailableException>(error) is { } unavailable) return (ErrorCodes.Unavailable, unavailable.Message);
        if (FindInChain<Orleans.Storage.InconsistentStateException>(error) is not null)
            return (ErrorCodes.Unavailable, "Storage changed under this write (a retry of a write whose answer was lost, or a concurrent writer); its outcome is unknown. Reload and retry.");
        return error.InnerException switch
        {
            OverloadedException ex => (ErrorCodes.Overloaded, ex.Message),
            InvalidSequenceException ex => (ErrorCodes.BadUserInput, ex.Message),
            UnknownSaeException ex => (ErrorCodes.BadUserInput, ex.Message),
            // A grain that did not answer in time (still activating, storage slow), even after TransientReads' second
            // try: the platform is not overloaded, it is briefly unavailable. A mutation's outcome is then unknown.
            TimeoutException => (ErrorCodes.Unavailable, "The platform did not answer in time (a part of it was still starting or storage was slow); "
                + "a change may or may not have been applied: reload, then retry after extensions.retryAfterSeconds."),
            null when error.Code is not null && ErrorCodes.All.Contains(error.Code) => (error.Code, null),
            // Argument coercion problems surface as plain ExecutionErrors without an inner exception.
            null => (ErrorCodes.BadUserInput, null),
            _ => (ErrorCodes.Internal, exposeInternals ? null : "Internal server error."),
        };
    }

    /// <summary>The first exception of type <typeparamref name="T"/> among the inner exceptions (grain calls and resolvers may wrap).</summary>
    private static T? FindInChain<T>(ExecutionError error) where T : Exception
    {
        for (var ex = error.InnerException; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found) return found;
            if (ex is AggregateException aggregate && aggregate.InnerExceptions.OfType<T>().FirstOrDefault() is { } inAggregate) return inAggregate;
        }
        return null;
    }
}
