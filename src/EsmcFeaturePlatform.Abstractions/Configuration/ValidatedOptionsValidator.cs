using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Abstractions.Configuration;

/// <summary>Runs a settings class's own <see cref="IValidatedOptions.Validate"/> for the options system.</summary>
public sealed class ValidatedOptionsValidator<T> : IValidateOptions<T>
    where T : class, IValidatedOptions
{
    /// <summary>Fails with the settings' own refusal (naming SECTION:KEY), else succeeds.</summary>
    public ValidateOptionsResult Validate(string? name, T options) =>
        Check(options) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    /// <summary>The refusal's message, or null when the settings are valid.</summary>
    internal static string? Check(T options)
    {
        try
        {
            options.Validate();
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return ex.Message;
        }
    }
}
