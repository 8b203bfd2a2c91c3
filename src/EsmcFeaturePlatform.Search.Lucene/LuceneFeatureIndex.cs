using System.Globalization;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Caching;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Miscellaneous;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Search.Highlight;
using Lucene.Net.Store;
using Lucene.Net.Util;
using LuceneDirectory = Lucene.Net.Store.Directory;
using LuceneDocument = Lucene.Net.Documents.Document;
using Schema = EsmcFeaturePlatform.Abstractions.FeatureIndexSchema;

namespace EsmcFeaturePlatform.Search.Lucene;

/// <summary>
/// The embedded, zero-setup <see cref="IFeatureIndex"/>: BM25 over label, text and annotation terms with the
/// English analyzer (stemming), near-real-time through a <see cref="SearcherManager"/> over the writer.
/// </summary>
/// <remarks>
/// On disk, <c>IndexDirectory</c> holds numbered generations (<c>gen-000001</c>, ...) and a <c>CURRENT</c> file naming
/// the live one. A rebuild writes a new generation beside the live one and swaps <c>CURRENT</c> with an atomic
/// rename, so a crash or a failed rebuild can never leave a half-built index live. Writes that arrive during a
/// rebuild go to the live generation (searchable at once) and are replayed onto the new one before the swap.
/// Lock order (never reversed): lifecycle, refresh, write.
/// </remarks>
public sealed class LuceneFeatureIndex : IFeatureIndex, IDisposable, IAsyncDisposable
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private const string CurrentFileName = "CURRENT";
    private const string GenerationPrefix = "gen-";
    private const int MaxParsedQueries = 4096;

    internal static readonly Sort ResultOrder = new(
        SortField.FIELD_SCORE,
        new SortField(Schema.Sae, SortFieldType.STRING),
        new SortField(Schema.Index, SortFieldType.INT32));

    private static readonly string[] SearchedFieldNames = [.. Schema.SearchedFields.Select(f => f.Field)];
    private static readonly Dictionary<string, float> FieldBoosts = Schema.SearchedFields.ToDictionary(f => f.Field, f => f.Boost);
    // Stored fields a hit needs (its key and the highlighted text): skips materialising the rest per hit.
    private static readonly HashSet<string> HitFields = [Schema.Sae, Schema.Index, .. SearchedFieldNames];

    private readonly LuceneSearchOptions options;
    private readonly string root;
    private readonly Analyzer analyzer = CreateAnalyzer();
    private static readonly SimpleHTMLFormatter HighlightFormatter = new("<em>", "</em>");
    private static readonly SimpleHTMLEncoder HighlightEncoder = new();

    // Parsing depends only on the text and the analyzer, so parsed queries live as long as the index. Lucene's
    // classic parser signals the end of its input with an exception, which made parsing a third of a query's CPU.
    // Query objects are safe to share: searching rewrites into new objects and never mutates the original.
    private readonly StartOverCache<Query> parsedQueries = new(MaxParsedQueries);
    // Results and highlight terms hold only for the reader they were computed on; see ReaderCache.
    private ReaderCache? readerCache;

    // Serializes IndexWriter mutations so each can also be recorded for replay during a rebuild.
    private readonly object writeGate = new();
    // Held while making writes visible (refreshing the searcher) and while swapping generations.
    private readonly SemaphoreSlim refreshGate = new(1, 1);
    // Held by commits, swaps and disposal: anything that must not see the generation change under it.
    private readonly SemaphoreSlim lifecycleGate = new(1, 1);
    private readonly SemaphoreSlim rebuildGate = new(1, 1);
    private readonly CancellationTokenSource stopping = new();
    private readonly Task commitLoop;

    private volatile Generation current;
    private List<Action<IndexWriter>>? writesDuringRebuild;
    private long writeSequence;
    private long visibleSequence;
    private int uncommitted;
    private int disposed;

    public LuceneFeatureIndex(LuceneSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        root = Path.GetFullPath(options.IndexDirectory!);
        System.IO.Directory.CreateDirectory(root);
        current = OpenLiveGeneration();
        DeleteStaleGenerations();
        commitLoop = options.CommitInterval > TimeSpan.Zero ? Task.Run(CommitPeriodicallyAsync) : Task.CompletedTask;
    }

    /// <summary>The folder of the live generation (diagnostics and tests).</summary>
    public string LiveGenerationPath => current.Path;

    public async Task UpsertAsync(IReadOnlyCollection<FeatureDocument> documents, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ct.ThrowIfCancellationRequested();
        if (documents.Count == 0) return;
        // Build every Lucene document first: one invalid feature rejects the batch before anything is written.
        var prepared = documents.Select(d => (Id: new Term(Schema.Id, d.Id), Doc: LuceneFeatureDocuments.Create(d))).ToList();
        await WriteAsync(writer =>
        {
            foreach (var (id, doc) in prepared) writer.UpdateDocument(id, doc);
        });
    }

    public Task DeleteSaeAsync(string saeId, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(saeId)) throw new ArgumentException("saeId must not be empty.", nameof(saeId));
        ct.ThrowIfCancellationRequested();
        var term = new Term(Schema.Sae, saeId);
        return WriteAsync(writer => writer.DeleteDocuments(term));
    }

    public Task<FeatureSearchResult> SearchAsync(FeatureSearchQuery query, CancellationToken ct = default)
    {
        try
        {
            ct.ThrowIfCancellationRequested();
            return Task.FromResult(Search(query, useCache: true));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<FeatureSearchResult>(ct);
        }
        catch (Exception e)
        {
            return Task.FromException<FeatureSearchResult>(e);
        }
    }

    public Task<long> CountAsync(string? saeId = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(WithSearcher(searcher =>
        {
            if (saeId is null) return (long)searcher.IndexReader.NumDocs;
            var collector = new TotalHitCountCollector();
            searcher.Search(new TermQuery(new Term(Schema.Sae, saeId)), collector);
            return (long)collector.TotalHits;
        }));
    }

    public async Task RebuildAsync(IAsyncEnumerable<FeatureDocument> all, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(all);
        await rebuildGate.WaitAsync(ct);
        Generation? next = null;
        try
        {
            ThrowIfDisposed();
            next = CreateGeneration(NextGenerationNumber(), OpenMode.CREATE, options.RebuildRamBufferMb);
            lock (writeGate) writesDuringRebuild = [];

            await foreach (var feature in all.WithCancellation(ct))
            {
                next.Writer.UpdateDocument(new Term(Schema.Id, feature.Id), LuceneFeatureDocuments.Create(feature));
            }
            // A rebuilt index is read far more than it is written: one segment means each query term is looked up in
            // one term dictionary, not one per segment. Done before the locks, so searches and writes go on meanwhile.
            next.Writer.ForceMerge(1);

            await lifecycleGate.WaitAsync(ct);
            try
            {
                await refreshGate.WaitAsync(CancellationToken.None);
                try
                {
                    Generation previous;
                    lock (writeGate)
                    {
                        foreach (var write in writesDuringRebuild!) write(next.Writer);
                        writesDuringRebuild = null;
                        next.Writer.Commit();
                        next.OpenSearchers();
                        PointCurrentAt(next);
                        previous = current;
                        current = next;
                        visibleSequence = writeSequence;
                    }
                    next = null;
                    previous.Dispose();
                    TryDeleteDirectory(previous.Path);
                }
                finally
                {
                    refreshGate.Release();
                }
            }
            finally
            {
                lifecycleGate.Release();
            }
        }
        finally
        {
            if (next is not null)
            {
                lock (writeGate) writesDuringRebuild = null;
                next.Abandon();
                TryDeleteDirectory(next.Path);
            }
            rebuildGate.Release();
        }
    }

    /// <summary>Commits pending changes now (also done periodically and on dispose).</summary>
    public async Task CommitAsync(CancellationToken ct = default)
    {
        await lifecycleGate.WaitAsync(ct);
        try
        {
            ThrowIfDisposed();
            CommitIfNeeded();
        }
        finally
        {
            lifecycleGate.Release();
        }
    }

    private async Task WriteAsync(Action<IndexWriter> write)
    {
        long sequence;
        lock (writeGate)
        {
            ThrowIfDisposed();
            write(current.Writer);
            writesDuringRebuild?.Add(write);
            sequence = ++writeSequence;
            Volatile.Write(ref uncommitted, 1);
        }
        if (options.CommitInterval == TimeSpan.Zero) await CommitAsync();
        await MakeVisibleAsync(sequence);
    }

    /// <summary>
    /// One refresh serves every write that finished before it started, so concurrent upserters share refreshes
    /// instead of each flushing its own tiny segment.
    /// </summary>
    private async Task MakeVisibleAsync(long sequence)
    {
        await refreshGate.WaitAsync();
        try
        {
            if (Volatile.Read(ref visibleSequence) >= sequence) return;
            long target;
            lock (writeGate) target = writeSequence;
            ThrowIfDisposed();
            current.Searchers.MaybeRefreshBlocking();
            Volatile.Write(ref visibleSequence, target);
        }
        finally
        {
            refreshGate.Release();
        }
    }

    /// <summary>One search; <paramref name="useCache"/> false computes the result even when a cached one exists (benchmarks).</summary>
    internal FeatureSearchResult Search(FeatureSearchQuery query, bool useCache)
    {
        var pageSize = Schema.ValidateAndGetPageSize(query);
        var main = ParseQuery(query.Query);
        var filter = BuildFilter(query);
        FeatureSearchCursor? after = query.After is null ? null : FeatureSearchCursor.Decode(query.After);

        return WithSearcher(searcher =>
        {
            var cache = useCache ? CacheFor(searcher.IndexReader) : null;
            var key = cache is null ? null : ResultKey(query);
            if (key is not null && cache!.Results.TryGet(key, out var cached)) return cached;

            var wanted = pageSize + 1;
            TopFieldDocs top;
            try
            {
                top = after is { } a
                    ? (TopFieldDocs)searcher.SearchAfter(
                        // Lucene.Net's comparers take J2N boxes; doc id MaxValue never ties, since (sae, index) is unique.
                        new FieldDoc(int.MaxValue, (float)a.Score,
                            [J2N.Numerics.Single.GetInstance((float)a.Score), new BytesRef(a.SaeId), J2N.Numerics.Int32.GetInstance(a.Index)]),
                        main, filter, wanted, ResultOrder, doDocScores: true, doMaxScore: false)
                    : searcher.Search(main, filter, wanted, ResultOrder, doDocScores: true, doMaxScore: false);
            }
            catch (BooleanQuery.TooManyClausesException)
            {
                throw new SearchSyntaxException($"The query '{query.Query}' expands to too many terms; use a longer prefix.");
            }

            var highlighters = main is MatchAllDocsQuery || top.ScoreDocs.Length == 0 ? [] : CreateHighlighters(query.Query, main, searcher, cache);
            var hits = new List<FeatureSearchHit>(Math.Min(pageSize, top.ScoreDocs.Length));
            foreach (var scoreDoc in top.ScoreDocs.Take(pageSize))
            {
                var stored = searcher.Doc(scoreDoc.Doc, HitFields);
                var sae = stored.Get(Schema.Sae);
                var index = stored.GetField(Schema.Index).GetInt32Value() ?? -1;
                var score = (double)scoreDoc.Score;
                hits.Add(new FeatureSearchHit(sae, index, score,
                    new FeatureSearchCursor(score, sae, index).Encode(), Highlight(highlighters, stored)));
            }
            var result = new FeatureSearchResult(top.TotalHits, hits, top.ScoreDocs.Length > pageSize, hits.Count > 0 ? hits[^1].Cursor : null);
            if (key is not null) cache!.Results.Add(key, result);
            return result;
        });
    }

    /// <summary>Every argument that changes a result, in one string (the query's lists compare by reference, not content).</summary>
    private static string ResultKey(FeatureSearchQuery q)
    {
        var key = new StringBuilder(q.Query.Length + 64).Append(q.Query).Append('\u0001').Append(q.SaeId).Append('\u0001');
        if (q.Statuses is { } statuses) key.AppendJoin(',', statuses.Order());
        key.Append('\u0001');
        if (q.Sources is { } sources) key.AppendJoin(',', sources.Order());
        key.Append('\u0001').Append(q.MinScore?.ToString("R", CultureInfo.InvariantCulture)).Append('\u0001').Append(q.MinDocumentCount)
            .Append('\u0001').Append(q.MaxDocumentCount).Append('\u0001').Append(q.First).Append('\u0001').Append(q.After);
        return key.ToString();
    }

    /// <summary>The cache of the reader a search runs on: a refresh (any visible write) or a rebuild brings a new reader and so an empty cache.</summary>
    private ReaderCache? CacheFor(IndexReader reader)
    {
        if (options.ResultCacheEntries == 0) return null;
        var cache = Volatile.Read(ref readerCache);
        if (cache is not null && ReferenceEquals(cache.Reader, reader)) return cache;
        var fresh = new ReaderCache(reader, options.ResultCacheEntries);
        // Two searches on two readers at once (a refresh between them) may swap back and forth; each swap only costs misses.
        Interlocked.CompareExchange(ref readerCache, fresh, cache);
        return fresh;
    }

    /// <summary>
    /// Whole results and highlight terms for one reader, each bounded by <see cref="LuceneSearchOptions.ResultCacheEntries"/>.
    /// </summary>
    private sealed class ReaderCache(IndexReader reader, int capacity)
    {
        public IndexReader Reader { get; } = reader;
        public StartOverCache<FeatureSearchResult> Results { get; } = new(capacity);
        public StartOverCache<WeightedTerm[][]> HighlightTerms { get; } = new(capacity);
    }

    internal Query ParseQuery(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || trimmed == "*" || trimmed == "*:*") return new MatchAllDocsQuery();
        if (parsedQueries.TryGet(trimmed, out var known)) return known;
        var parser = CreateParser();
        try
        {
            var parsed = parser.Parse(trimmed);
            parsedQueries.Add(trimmed, parsed);
            return parsed;
        }
        catch (ParseException e)
        {
            throw new SearchSyntaxException($"Cannot parse the search query '{text}': {FirstLine(e.Message)}");
        }
        catch (BooleanQuery.TooManyClausesException)
        {
            throw new SearchSyntaxException($"The query '{text}' has too many clauses.");
        }
    }

    internal static Filter? BuildFilter(FeatureSearchQuery query)
    {
        var all = new BooleanQuery();
        if (query.SaeId is { } sae) all.Add(new TermQuery(new Term(Schema.Sae, sae)), Occur.MUST);
        if (query.Statuses is { Count: > 0 } statuses)
            all.Add(AnyOf(Schema.Status, statuses.Select(Schema.ToIndexValue)), Occur.MUST);
        if (query.Sources is { Count: > 0 } sources)
            all.Add(AnyOf(Schema.Source, sources.Select(Schema.ToIndexValue)), Occur.MUST);
        if (query.MinScore is { } minScore)
            all.Add(NumericRangeQuery.NewDoubleRange(Schema.Score, minScore, null, true, true), Occur.MUST);
        if (query.MinDocumentCount is not null || query.MaxDocumentCount is not null)
            all.Add(NumericRangeQuery.NewInt32Range(Schema.DocumentCount, query.MinDocumentCount, query.MaxDocumentCount, true, true), Occur.MUST);
        // A filter, not a scoring clause: filters must not change relevance (Elasticsearch's bool.filter does not either).
        return all.Clauses.Count == 0 ? null : new QueryWrapperFilter(all);
    }

    private static BooleanQuery AnyOf(string field, IEnumerable<string> values)
    {
        var any = new BooleanQuery();
        foreach (var v in values.Distinct()) any.Add(new TermQuery(new Term(field, v)), Occur.SHOULD);
        return any;
    }

    /// <summary>The parser keeps state per parse, so one per query: it is cheap next to the search itself.</summary>
    private StemmingPrefixQueryParser CreateParser()
    {
        return new StemmingPrefixQueryParser(Version, SearchedFieldNames, analyzer, FieldBoosts)
        {
            DefaultOperator = Operator.AND,
            AllowLeadingWildcard = false,
        };
    }

    /// <summary>
    /// One highlighter per field for the whole page. Term-based scoring (terms extracted once, prefixes expanded
    /// to the words they match in this index) instead of the span-based QueryScorer, which re-indexes every
    /// snippet in memory to resolve phrases and prefixes and dominated query latency. The terms are kept per reader
    /// (prefixes expand differently as the index changes), so a repeated query extracts nothing.
    /// </summary>
    private List<(string Field, Highlighter Highlighter)> CreateHighlighters(string text, Query main, IndexSearcher searcher, ReaderCache? cache)
    {
        var key = text.Trim();
        if (cache is null || !cache.HighlightTerms.TryGet(key, out var terms))
        {
            terms = ExtractHighlightTerms(key, main, searcher);
            cache?.HighlightTerms.Add(key, terms);
        }
        var highlighters = new List<(string, Highlighter)>(terms.Length);
        for (var f = 0; f < terms.Length; f++)
        {
            highlighters.Add((SearchedFieldNames[f], new Highlighter(HighlightFormatter, HighlightEncoder, new QueryTermScorer(terms[f]))
            {
                TextFragmenter = new SimpleFragmenter(150),
            }));
        }
        return highlighters;
    }

    /// <summary>Per searched field (in <see cref="SearchedFieldNames"/> order), the query's terms in that field.</summary>
    private WeightedTerm[][] ExtractHighlightTerms(string text, Query main, IndexSearcher searcher)
    {
        Query withWords = main;
        // Only prefixes and wildcards need re-parsing to learn the words they match; plain terms and phrases parse to
        // the same query both ways, so the query already parsed serves as is.
        if (HasMultiTermQuery(main))
        {
            try
            {
                var parser = CreateParser();
                parser.MultiTermRewriteMethod = MultiTermQuery.SCORING_BOOLEAN_QUERY_REWRITE;
                withWords = searcher.Rewrite(parser.Parse(text));
            }
            catch (BooleanQuery.TooManyClausesException)
            {
                withWords = main; // a prefix matching too many words: highlight the plain terms only
            }
        }
        return [.. SearchedFieldNames.Select(field => QueryTermExtractor.GetTerms(withWords, false, field))];
    }

    private static bool HasMultiTermQuery(Query query) => query switch
    {
        MultiTermQuery => true,
        BooleanQuery boolean => boolean.Clauses.Any(c => HasMultiTermQuery(c.Query)),
        TermQuery or PhraseQuery or MatchAllDocsQuery => false,
        _ => true, // anything else: take the general path
    };

    private Dictionary<string, string[]> Highlight(List<(string Field, Highlighter Highlighter)> highlighters, LuceneDocument stored)
    {
        var highlights = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (field, highlighter) in highlighters)
        {
            var values = stored.GetValues(field);
            if (values.Length == 0) continue;
            var fragments = new List<string>();
            foreach (var value in values)
            {
                try
                {
                    fragments.AddRange(highlighter.GetBestFragments(analyzer, field, value, 2).Where(f => f.Length > 0));
                }
                catch (InvalidTokenOffsetsException)
                {
                    // A snippet is a nicety: a value the highlighter cannot map back is simply not highlighted.
                }
            }
            if (fragments.Count > 0) highlights[field] = [.. fragments];
        }
        return highlights;
    }

    private T WithSearcher<T>(Func<IndexSearcher, T> use)
    {
        while (true)
        {
            ThrowIfDisposed();
            var generation = current;
            IndexSearcher searcher;
            try
            {
                searcher = generation.Searchers.Acquire();
            }
            catch (ObjectDisposedException) when (!ReferenceEquals(generation, current) && Volatile.Read(ref disposed) == 0)
            {
                continue; // a rebuild swapped generations between reading 'current' and acquiring: use the new one
            }
            try
            {
                return use(searcher);
            }
            finally
            {
                generation.Searchers.Release(searcher);
            }
        }
    }

    private async Task CommitPeriodicallyAsync()
    {
        using var timer = new PeriodicTimer(options.CommitInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping.Token))
            {
                await lifecycleGate.WaitAsync(stopping.Token);
                try
                {
                    if (Volatile.Read(ref disposed) == 0) CommitIfNeeded();
                }
                catch (IOException)
                {
                    // A failed background commit keeps the changes pending (uncommitted is set again) for the next tick.
                    Volatile.Write(ref uncommitted, 1);
                }
                finally
                {
                    lifecycleGate.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private void CommitIfNeeded()
    {
        if (Interlocked.Exchange(ref uncommitted, 0) == 1) current.Writer.Commit();
    }

    private Generation OpenLiveGeneration()
    {
        var pointer = Path.Combine(root, CurrentFileName);
        if (!File.Exists(pointer))
        {
            var first = CreateGeneration(NextGenerationNumber(), OpenMode.CREATE, 16);
            first.Writer.Commit();
            first.OpenSearchers();
            PointCurrentAt(first);
            return first;
        }
        var name = File.ReadAllText(pointer).Trim();
        if (!TryParseGeneration(name, out var number) || !System.IO.Directory.Exists(Path.Combine(root, name)))
            throw new InvalidOperationException(
                $"The search index at '{root}' is damaged: {CurrentFileName} names '{name}', which does not exist. " +
                "Delete the folder and rebuild the index (admin rebuild command).");
        var live = CreateGeneration(number, OpenMode.APPEND, 16);
        live.OpenSearchers();
        return live;
    }

    private Generation CreateGeneration(int number, OpenMode mode, double ramBufferMb)
    {
        var path = Path.Combine(root, GenerationName(number));
        LuceneDirectory? directory = null;
        try
        {
            directory = FSDirectory.Open(new DirectoryInfo(path));
            var config = new IndexWriterConfig(Version, analyzer) { OpenMode = mode, RAMBufferSizeMB = ramBufferMb };
            return new Generation(path, directory, new IndexWriter(directory, config));
        }
        catch (LockObtainFailedException e)
        {
            directory?.Dispose();
            throw new InvalidOperationException($"The search index at '{path}' is in use by another process ({e.Message}).", e);
        }
        catch (Exception e) when (e is IOException or CorruptIndexException)
        {
            directory?.Dispose();
            throw new InvalidOperationException($"Cannot open the search index at '{path}': {e.Message}. Delete it and rebuild.", e);
        }
    }

    private void PointCurrentAt(Generation generation)
    {
        var pointer = Path.Combine(root, CurrentFileName);
        var temporary = pointer + ".tmp";
        File.WriteAllText(temporary, Path.GetFileName(generation.Path));
        File.Move(temporary, pointer, overwrite: true); // rename(2) is atomic: readers see the old or the new name
    }

    private int NextGenerationNumber() =>
        System.IO.Directory.EnumerateDirectories(root)
            .Select(d => TryParseGeneration(Path.GetFileName(d), out var n) ? n : 0)
            .DefaultIfEmpty(0).Max() + 1;

    private void DeleteStaleGenerations()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(root))
        {
            if (TryParseGeneration(Path.GetFileName(dir), out _) && Path.GetFullPath(dir) != current.Path) TryDeleteDirectory(dir);
        }
    }

    private static string GenerationName(int number) => GenerationPrefix + number.ToString("D6", CultureInfo.InvariantCulture);

    private static bool TryParseGeneration(string name, out int number)
    {
        number = 0;
        return name.StartsWith(GenerationPrefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(GenerationPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path)) System.IO.Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next start's clean-up; it is never named by CURRENT again.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static Analyzer CreateAnalyzer()
    {
        // Keyword fields must match exactly when named in a query ("status:APPROVED"), like Elasticsearch keywords.
        var keyword = new KeywordAnalyzer();
        var perField = Schema.Fields
            .Where(f => f.Kind == FeatureIndexFieldKind.Keyword)
            .ToDictionary(f => f.Name, Analyzer (f) => keyword);
        return new PerFieldAnalyzerWrapper(new EnglishAnalyzer(Version), perField);
    }

    private static string FirstLine(string message)
    {
        var newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        await stopping.CancelAsync();
        await commitLoop;
        await rebuildGate.WaitAsync();
        await lifecycleGate.WaitAsync();
        await refreshGate.WaitAsync();
        lock (writeGate)
        {
            current.Dispose(); // IndexWriter.Dispose commits what is pending
        }
        analyzer.Dispose();
        stopping.Dispose();
    }

    private sealed class Generation(string path, LuceneDirectory directory, IndexWriter writer) : IDisposable
    {
        private SearcherManager? searchers;

        public string Path { get; } = path;
        public IndexWriter Writer { get; } = writer;
        public SearcherManager Searchers => searchers ?? throw new InvalidOperationException("Generation has no searchers yet.");

        public void OpenSearchers() => searchers = new SearcherManager(Writer, applyAllDeletes: true, searcherFactory: null);

        public void Dispose()
        {
            searchers?.Dispose();
            Writer.Dispose();
            directory.Dispose();
        }

        /// <summary>Drops a generation that never went live, without committing anything more.</summary>
        public void Abandon()
        {
            try
            {
                Writer.Rollback();
            }
            finally
            {
                directory.Dispose();
            }
        }
    }
}
