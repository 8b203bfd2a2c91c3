using Lucene.Net.Analysis;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace EsmcFeaturePlatform.Search.Lucene;

/// <summary>
/// The classic multi-field parser, except that a prefix (<c>kinase*</c>) is first run through the field's analyzer.
/// The index holds stems ("kinase" is indexed as "kinas"), so an unanalysed prefix would miss the very word it
/// spells; Elasticsearch's <c>analyze_wildcard</c> does the same, which keeps the two providers in step.
/// </summary>
internal sealed class StemmingPrefixQueryParser(
    LuceneVersion version, string[] fields, Analyzer analyzer, IDictionary<string, float> boosts)
    : MultiFieldQueryParser(version, fields, analyzer, boosts)
{
    protected override Query GetPrefixQuery(string field, string termStr)
    {
        if (field is null) return base.GetPrefixQuery(field!, termStr);
        var tokens = new List<string>(1);
        using (var stream = Analyzer.GetTokenStream(field, termStr))
        {
            var term = stream.AddAttribute<ICharTermAttribute>();
            stream.Reset();
            while (stream.IncrementToken()) tokens.Add(term.ToString());
            stream.End();
        }
        // A stop word or a prefix that splits into several tokens keeps its literal (lower-cased) form.
        return base.GetPrefixQuery(field, tokens.Count == 1 ? tokens[0] : termStr);
    }
}
