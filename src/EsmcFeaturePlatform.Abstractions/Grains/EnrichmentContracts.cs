namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>
/// Per SAE (keyed by SAE id): the family of residue-level enrichment tests, every (feature, concept) test over the
/// features' top <c>examples</c> stored examples, so that each test is corrected (Benjamini-Hochberg) against all the
/// others although features are read one at a time. Built on first use, again when the corpus grows.
/// </summary>
[Alias("esmc.IEnrichmentFamilyGrain")]
public interface IEnrichmentFamilyGrain : IGrainWithStringKey
{
    /// <summary>The BH-adjusted values of <paramref name="pValues"/> as members of the SAE's family.</summary>
    [Alias("Adjust")]
    Task<double[]> AdjustAsync(int codebookSize, int examples, double[] pValues);

    /// <summary>Every p-value of the family, ascending (a describe job corrects its own tests against it).</summary>
    [Alias("GetSortedPValues")]
    Task<double[]> GetSortedPValuesAsync(int codebookSize, int examples);
}
