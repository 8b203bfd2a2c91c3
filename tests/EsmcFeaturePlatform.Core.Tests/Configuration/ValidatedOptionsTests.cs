using EsmcFeaturePlatform.Abstractions.Configuration;
using EsmcFeaturePlatform.Safety;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Core.Tests.Configuration;

/// <summary>The one way settings are bound: from their section, checked by their own rule, refused naming the key.</summary>
public sealed class ValidatedOptionsTests
{
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Options_are_bound_from_their_section_and_keep_their_defaults()
    {
        using var services = new ServiceCollection().AddValidatedOptions<SafetyOptions>(Settings(("Esmc:Safety:MinIdentity", "0.8"))).Services.BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<SafetyOptions>>().Value;
        Assert.Equal(0.8, options.MinIdentity, 6);
        Assert.Equal(new SafetyOptions().MinAlignedResidues, options.MinAlignedResidues);
        Assert.Equal("Esmc:Safety", SafetyOptions.SectionName);
    }

    [Fact]
    public void A_bad_setting_refuses_start_with_an_error_naming_the_key_and_the_fix()
    {
        var settings = Settings(("Esmc:Safety:MinIdentity", "60"));
        using var services = new ServiceCollection().AddValidatedOptions<SafetyOptions>(settings).Services.BuildServiceProvider();
        var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<SafetyOptions>>().Value);
        Assert.Contains("Esmc:Safety:MinIdentity must be a fraction in (0, 1]", refused.Message, StringComparison.Ordinal);

        // A host step that reads the settings while the host is built refuses them the same way.
        var early = Assert.Throws<OptionsValidationException>(() => settings.GetValidatedOptions<SafetyOptions>());
        Assert.Equal(refused.Message, early.Message);
    }

    [Fact]
    public void Settings_read_while_the_host_is_built_are_the_instance_services_get()
    {
        var services = new ServiceCollection();
        var read = services.BindValidatedOptions<SafetyOptions>(Settings(("Esmc:Safety:MinAlignedResidues", "40")));
        Assert.Same(read, services.BindValidatedOptions<SafetyOptions>(Settings()));
        using var provider = services.BuildServiceProvider();
        Assert.Same(read, provider.GetRequiredService<IOptions<SafetyOptions>>().Value);
        Assert.Same(read, provider.GetRequiredService<SafetyOptions>());
        Assert.Equal(40, read.MinAlignedResidues);
    }
}
