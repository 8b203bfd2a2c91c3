using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Evidence;
using EsmcFeaturePlatform.Abstractions.Grains;
using Microsoft.Extensions.Logging;

namespace EsmcFeaturePlatform.Grains;

/// <summary>
/// An SAE's family of enrichment tests, for Benjamini-Hochberg over features x concepts. BH needs every p-value of the
/// family at once while the API reads features one at a time, so the family is computed here once: every feature's
/// residue-level tests over its stored top examples (<see cref="IFeatureReader.EnrichmentAsync"/>, 256 features per step, the same
/// code the API uses, so the API's tests are members of it). Only the sorted p-values are kept (8 bytes a test), in
/// memory: the family is derived data, rebuilt after a restart and whenever the corpus size changes (indexing adds
/// proteins, which can change top examples). Cost: one pass over all features' examples and proteins, paid by the
/// first request after indexing (about as much as reading every feature's annotationEnrichment once).
/// </summary>
public sealed class EnrichmentFamilyGrain(IFeatureReader reader, ILogger<EnrichmentFamilyGrain> logger) : Grain, IEnrichmentFamilyGrain
{
    private (int CorpusSize, int Examples, int CodebookSize)? _builtFor;
    private EnrichmentFamily? _family;

    public async Task<double[]> AdjustAsync(int codebookSize, int examples, double[] pValues)
    {
        var family = await FamilyAsync(codebookSize, examples);
        return [.. pValues.Select(family.Adjust)];
    }

    public async Task<double[]> GetSortedPValuesAsync(int codebookSize, int examples) => (await FamilyAsync(codebookSize, examples)).SortedPValues;

    private async Task<EnrichmentFamily> FamilyAsync(int codebookSize, int examples)
    {
        var saeId = this.GetPrimaryKeyString();
        var corpusSize = (await reader.GetCorpusStatisticsAsync(saeId, [])).CorpusSize;
        var key = (corpusSize, examples, codebookSize);
        if (_family is not null && _builtFor == key) return _family;
        var started = DateTime.UtcNow;
        var pValues = new List<double>();
        for (var from = 0; from < codebookSize; from += FeaturePages.Size)
        {
            var indices = Enumerable.Range(from, Math.Min(FeaturePages.Size, codebookSize - from)).ToArray();
            foreach (var rows in await reader.EnrichmentAsync(saeId, indices, examples))
                foreach (var row in rows) pValues.Add(row.PValue);
        }
        _family = EnrichmentFamily.Of(pValues);
        _builtFor = key;
        logger.LogInformation("Enrichment family of {Sae}: {Tests} tests over {Features} features (corpus {Corpus}) in {Seconds:0.0} s",
            saeId, _family.Count, codebookSize, corpusSize, (DateTime.UtcNow - started).TotalSeconds);
        return _family;
    }
}
