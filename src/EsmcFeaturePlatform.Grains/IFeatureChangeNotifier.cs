using System.Collections.Concurrent;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Told by feature grains (descriptions) and feature pages (statistics, examples) that a feature changed. Must not block.</summary>
public interface IFeatureChangeNotifier
{
    void FeatureChanged(FeatureKey key);
}

/// <summary>Silos without a search index (e.g. tests of indexing alone) ignore changes.</summary>
internal sealed class NoFeatureChangeNotifier : IFeatureChangeNotifier
{
    public void FeatureChanged(FeatureKey key) { }
}
