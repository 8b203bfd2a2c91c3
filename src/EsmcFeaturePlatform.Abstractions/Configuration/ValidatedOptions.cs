using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Abstractions.Configuration;

/// <summary>
/// The one way settings are bound and checked: from their section (<see cref="IValidatedOptions.SectionName"/>), once,
/// and refused at start-up by their own <see cref="IValidatedOptions.Validate"/> with an
/// <see cref="OptionsValidationException"/> that names the setting and the fix.
/// </summary>
public static class ValidatedOptions
{
    /// <summary>Registers <typeparamref name="T"/> as options bound from its section and validated when the host starts.</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration)
        where T : class, IValidatedOptions
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>, ValidatedOptionsValidator<T>>());
        return services.AddOptions<T>().Bind(configuration.GetSection(T.SectionName)).ValidateOnStart();
    }

    /// <summary>
    /// For settings the host itself needs while it is being built (which provider, which role, which limits) and
    /// services read later: bound and validated now, and that one instance is what <see cref="IOptions{T}"/> and
    /// <typeparamref name="T"/> resolve to (registered once, however many hosting steps ask).
    /// </summary>
    public static T BindValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration)
        where T : class, IValidatedOptions, new()
    {
        // A later hosting step gets the instance services get, so what it changes (e.g. an API-only host's empty pull list) holds.
        if (services.FirstOrDefault(d => d.ServiceType == typeof(T) && !d.IsKeyedService)?.ImplementationInstance is T registered) return registered;
        var options = configuration.GetValidatedOptions<T>();
        services.TryAddSingleton(options);
        services.TryAddSingleton(Options.Create(options));
        return options;
    }

    /// <summary>
    /// <typeparamref name="T"/> bound from its section and validated now, for a hosting step that only reads it
    /// (<see cref="BindValidatedOptions{T}"/> registers it for services too).
    /// </summary>
    public static T GetValidatedOptions<T>(this IConfiguration configuration)
        where T : class, IValidatedOptions, new()
    {
        var options = configuration.GetSection(T.SectionName).Get<T>() ?? new T();
        if (ValidatedOptionsValidator<T>.Check(options) is { } error) throw new OptionsValidationException(T.SectionName, typeof(T), [error]);
        return options;
    }
}
