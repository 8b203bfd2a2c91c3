using EsmcFeaturePlatform.Abstractions;
using Lucene.Net.Documents;
using Lucene.Net.Util;
using Schema = EsmcFeaturePlatform.Abstractions.FeatureIndexSchema;

namespace EsmcFeaturePlatform.Search.Lucene;

/// <summary>Maps feature documents to Lucene documents with the field names of <see cref="FeatureIndexSchema"/>.</summary>
public static class LuceneFeatureDocuments
{
    public static Document Create(FeatureDocument feature)
    {
        Schema.ValidateDocument(feature);
        var doc = new Document
        {
            new StringField(Schema.Id, feature.Id, Field.Store.YES),
            new StringField(Schema.Sae, feature.SaeId, Field.Store.YES),
            // Doc values carry the tie-break sort keys (SAE, index), so paging never loads stored fields to sort.
            new SortedDocValuesField(Schema.Sae, new BytesRef(feature.SaeId)),
            new Int32Field(Schema.Index, feature.Index, Field.Store.YES),
            new NumericDocValuesField(Schema.Index, feature.Index),
            new Int32Field(Schema.DocumentCount, feature.DocumentCount, Field.Store.YES),
            new Int32Field(Schema.CorpusSize, feature.CorpusSize, Field.Store.YES),
            new Int64Field(Schema.UpdatedAt, feature.UpdatedAt.ToUnixTimeMilliseconds(), Field.Store.YES),
        };
        if (feature.Label is { } label) doc.Add(new TextField(Schema.Label, label, Field.Store.YES));
        if (feature.Text is { } text) doc.Add(new TextField(Schema.Text, text, Field.Store.YES));
        if (feature.Status is { } status) doc.Add(new StringField(Schema.Status, Schema.ToIndexValue(status), Field.Store.YES));
        if (feature.Source is { } source) doc.Add(new StringField(Schema.Source, Schema.ToIndexValue(source), Field.Store.YES));
        if (feature.Score is { } score && double.IsFinite(score)) doc.Add(new DoubleField(Schema.Score, score, Field.Store.YES));
        if (feature.MaxActivation is { } max && float.IsFinite(max)) doc.Add(new SingleField(Schema.MaxActivation, max, Field.Store.YES));
        if (feature.Idf is { } idf && double.IsFinite(idf)) doc.Add(new DoubleField(Schema.Idf, idf, Field.Store.YES));
        foreach (var term in feature.AnnotationTerms)
        {
            if (!string.IsNullOrWhiteSpace(term)) doc.Add(new TextField(Schema.AnnotationTerms, term, Field.Store.YES));
        }
        return doc;
    }

    /// <summary>Reads a stored document back (used by tests and diagnostics; search results carry only keys).</summary>
    public static FeatureDocument Read(Document doc)
    {
        var updated = doc.GetField(Schema.UpdatedAt)?.GetInt64Value() ?? 0L;
        return new FeatureDocument(
            doc.Get(Schema.Sae),
            doc.GetField(Schema.Index)?.GetInt32Value() ?? -1,
            doc.Get(Schema.Label),
            doc.Get(Schema.Text),
            Schema.ParseStatus(doc.Get(Schema.Status)),
            Schema.ParseSource(doc.Get(Schema.Source)),
            doc.GetField(Schema.Score)?.GetDoubleValue(),
            doc.GetField(Schema.MaxActivation)?.GetSingleValue(),
            doc.GetField(Schema.DocumentCount)?.GetInt32Value() ?? 0,
            doc.GetField(Schema.CorpusSize)?.GetInt32Value() ?? 0,
            doc.GetField(Schema.Idf)?.GetDoubleValue(),
            doc.GetValues(Schema.AnnotationTerms),
            DateTimeOffset.FromUnixTimeMilliseconds(updated));
    }
}
