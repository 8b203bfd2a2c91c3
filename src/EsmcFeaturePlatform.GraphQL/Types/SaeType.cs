using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using GraphQL.Types;
using GraphQL;

namespace EsmcFeaturePlatform.GraphQL;

public sealed class SaeType : ObjectGraphType<SaeDescriptor>
{
    public SaeType()
    {
        Name = "Sae";
        Description = "A sparse autoencoder (SAE) trained on one layer of a protein language model: its features are the units the platform analyzes, describes and searches.";
        Field<NonNullGraphType<IdGraphType>>("id").Description("The SAE id, REPO_FOLDER_NAME/layerN: the SAE checkpoint's folder and the base-model layer it reads (e.g. ESMC-tiny-sae-k4-codebook64/layer2).").Resolve(c => c.Source.Id);
        Field<NonNullGraphType<StringGraphType>>("model").Description("The name of the base protein language model checkpoint whose hidden states the SAE encodes.").Resolve(c => c.Source.Model);
        Field<NonNullGraphType<IntGraphType>>("layer").Description("The base-model layer whose hidden states the SAE reads (the N of the id's layerN).").Resolve(c => c.Source.Layer);
        Field<NonNullGraphType<IntGraphType>>("k").Description("Features kept active per residue (the SAE's top-k): at most this many features are non-zero at each position.").Resolve(c => c.Source.K);
        Field<NonNullGraphType<IntGraphType>>("codebookSize").Description("Number of features of the SAE; valid feature indices are 0 to codebookSize - 1.").Resolve(c => c.Source.CodebookSize);
        Field<NonNullGraphType<BooleanGraphType>>("hasNormalizationStats").Description("Whether any normalization statistics are in effect (normalizationSource is not null): analyzeSequence(normalize: true) works only then.")
            .ResolveAsync(async c => await c.Queries().GetNormalizationSourceAsync(c.Source) != NormalizationSource.None);
        Field<StringGraphType>("normalizationSource")
            .Description("Where normalized values come from: CHECKPOINT, IMPORTED or CORPUS; null when there are no statistics.")
            .ResolveAsync(async c => await c.Queries().GetNormalizationSourceAsync(c.Source) switch
            {
                NormalizationSource.None => null,
                var source => source.ToString().ToUpperInvariant(),
            });
        Field<NormalizationSourceType>("normalizationSourceChosen")
            .Description("The source an admin chose with setNormalizationSource; null when the default order applies (imported, then real checkpoint statistics, then corpus statistics).")
            .ResolveAsync(async c => (await c.Queries().GetNormalizationAsync(c.Source, withStatistics: false)).Chosen);
        Field<NonNullGraphType<StringGraphType>>("normalizationExplanation")
            .Description("Why normalizationSource is in effect, in one sentence.")
            .ResolveAsync(async c => (await c.Queries().GetNormalizationAsync(c.Source, withStatistics: false)).Explanation);
        Field<NonNullGraphType<IntGraphType>>("corpusSize").Description("Proteins indexed into this SAE.")
            .ResolveAsync(async c => (await c.Queries().GetCorpusStatisticsAsync(c.Source.Id, [])).CorpusSize);
        Field<NonNullGraphType<IntGraphType>>("dModel").Description("Width of the base model's hidden states (the SAE's input dimension).").Resolve(c => c.Source.DModel);
        Field<NonNullGraphType<BooleanGraphType>>("isDemo")
            .Description("The base model is the generated RANDOM demo checkpoint: its features carry no biological meaning.")
            .Resolve(c => c.Source.IsDemo);
        Field<StringGraphType>("notice")
            .Description($"\"{SaeDescriptor.DemoNotice}\" for a demo SAE; null otherwise. Show it with every result of this SAE.")
            .Resolve(c => c.Source.Notice);
        Field<ImportedStatisticsType>("importedStatistics").Description("Imported normalization statistics, if any (normalizationSource says whether they are in effect).")
            .ResolveAsync(async c => await c.Queries().GetImportedStatisticsAsync(c.Source.Id));
    }
}
