using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace EsmcFeaturePlatform.Search.Tests;

/// <summary>
/// Marks a test class whose tests need an outside resource named by an environment variable; the tests are
/// reported as skipped (with the variable to set) rather than silently passing when it is missing.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresEnvironmentAttribute(string variable) : Attribute
{
    public string Variable { get; } = variable;
}

/// <summary>A contract test: it runs in every class deriving from the contract, skipped where the class's resource is absent.</summary>
[XunitTestCaseDiscoverer("EsmcFeaturePlatform.Search.Tests.ContractFactDiscoverer", "EsmcFeaturePlatform.Search.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractFactAttribute : FactAttribute;

public sealed class ContractFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        string? skip = null;
        var requirement = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresEnvironmentAttribute)).FirstOrDefault();
        if (requirement?.GetConstructorArguments().FirstOrDefault() is string variable
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
            skip = $"Set {variable} to run this contract against that provider.";
        yield return new ConditionalTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
            discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, skip);
    }
}

public sealed class ConditionalTestCase : XunitTestCase
{
    private string? skipReason;

    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public ConditionalTestCase()
    {
    }

    public ConditionalTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod testMethod, string? skipReason)
        : base(sink, display, displayOptions, testMethod)
    {
        this.skipReason = skipReason;
    }

    protected override string GetSkipReason(IAttributeInfo factAttribute) => skipReason ?? base.GetSkipReason(factAttribute);

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("ConditionalSkip", skipReason);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        skipReason = data.GetValue<string?>("ConditionalSkip");
        base.Deserialize(data);
    }
}
