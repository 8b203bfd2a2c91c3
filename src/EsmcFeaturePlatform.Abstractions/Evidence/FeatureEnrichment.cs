using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Abstractions.Evidence;

/// <summary>
/// The residue-level enrichment of features over their stored top examples and the indexed proteins' UniProt
/// annotations: what Feature.annotationEnrichment shows and what the SAE's family of tests is made of (one place,
/// so the API's rows are exactly members of the family they are corrected over).
/// </summary>
public static class FeatureEnrichment
{
    /// <summary>
    /// Per feature (in the order given): its residue-level rows, corrected over its own tests only (the caller corrects
    /// over the SAE's family), or none when no example has annotations (e.g. a FASTA corpus) or it never fired. Reads
    /// one page grain per 256 features and the proteins of all of them in one lookup per corpus shard.
    /// </summary>
    public static async Task<IReadOnlyList<ConceptEnrichment>[]> ComputeAsync(IGrainFactory grains, string saeId, IReadOnlyList<int> indices, int examples)
    {
        var stored = (await FeaturePages.ReadAsync(grains, saeId, indices, examples)).Statistics.Select(s => s.TopExamples).ToArray();
        var ids = stored.SelectMany(s => s).Select(e => e.SequenceId).Distinct(StringComparer.Ordinal).ToArray();
        var proteins = (await Task.WhenAll(ids.GroupBy(CorpusSharding.ShardOf).Select(g =>
                grains.GetGrain<ICorpusShardGrain>(CorpusSharding.ShardKey(saeId, g.Key)).GetAsync([.. g]))))
            .SelectMany(p => p).ToDictionary(p => p.Id, StringComparer.Ordinal);
        var result = new IReadOnlyList<ConceptEnrichment>[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var activating = stored[i]
                .Where(e => proteins.ContainsKey(e.SequenceId))
                .Select(e => AnnotationEnrichment.Annotate(e.ToExample(proteins[e.SequenceId].Sequence), proteins[e.SequenceId]))
                .ToList();
            // Only residue-level rows: protein-level (keyword) enrichment needs non-activating proteins, which only
            // the describe job has (it encodes a corpus sample); with none, every keyword would score p = 1.
            result[i] = activating.Any(a => a.Annotations.Count > 0)
                ? AnnotationEnrichment.Compute(activating, [], AnnotationEnrichment.DefaultActiveThreshold).Residue
                : [];
        }
        return result;
    }
}
