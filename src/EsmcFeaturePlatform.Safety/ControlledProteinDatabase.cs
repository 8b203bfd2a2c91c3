using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Corpus;

namespace EsmcFeaturePlatform.Safety;

/// <summary>One record of the operator's database: its id, its category (from <c>category=</c> in the header) and residues.</summary>
public sealed record ControlledProtein(string Id, string Category, string Residues);

/// <summary>The best flagged local alignment between a query and one database entry.</summary>
public sealed record SequenceMatch(string Id, string Category, int Score, int AlignmentLength, int Identities)
{
    /// <summary>Identical columns over all columns of the alignment (gaps included), as BLAST reports it.</summary>
    public double Identity => AlignmentLength == 0 ? 0 : (double)Identities / AlignmentLength;
}

/// <summary>When an alignment is a match (Esmc:Safety:MinAlignedResidues, Esmc:Safety:MinIdentity).</summary>
public sealed record MatchThresholds(int MinAlignedResidues = 50, double MinIdentity = 0.60);

/*
 * Design note: how a sequence is matched against the controlled-protein database, and why this way.
 *
 * The rule is "any local alignment of at least MinAlignedResidues columns at MinIdentity or more", so a hazard
 * with point substitutions, a fragment of one, or one embedded in a longer benign protein is caught; exact string
 * search would miss all three. A full Smith-Waterman of a 1,000-residue query against 10,000 proteins is ~3.5e9
 * cells (seconds), so, as BLAST does, alignments are only computed where seeds say they can exist:
 *
 *   1. seeds   - every 4-mer of standard residues of the database is indexed (CSR: k-mer -> global positions).
 *                4-mers, because an alignment at 60% identity over 50 residues holds about 47 x 0.6^4 = 6 identical
 *                4-mers on average, while random 4-mer hits are rare enough (about 1 in 20^4 per pair of positions,
 *                a few times that for skewed composition) to keep the work small. K-mers occurring more than
 *                MaxKmerOccurrences times (low-complexity runs) are dropped: they seed nothing specific.
 *   2. two-hit - a diagonal (database position minus query position) is extended only when it holds two
 *                non-overlapping seed hits at most TwoHitWindow query positions apart, which nearly every true
 *                alignment of 50 residues has and random hits seldom do.
 *   3. align   - a banded Smith-Waterman (Gotoh affine gaps, open 11 / extend 1, BLOSUM62) over the whole query and
 *                entry, within +-Band diagonals of the seed (indels up to that net shift stay in one alignment; a
 *                longer one splits it into two, each seeded on its own), once per entry and band. The best-scoring
 *                local alignment is traced back, and the longest run of its columns that meets the rule (length and
 *                identity; BandedAligner.BestWindow) is the match: the best-scoring alignment may run on into
 *                unrelated flanks and fall under the identity threshold as a whole.
 *
 * Queries are the prepared residues (ProteinSequenceInput) with chain breaks ('|') and gap tokens ('.', '-') taken
 * out, so a hazard split over two chains or padded with gap tokens aligns as one. The index is immutable once built,
 * and each search borrows a scratch set (diagonal table, DP rows) from a pool, so searches run concurrently.
 */
/// <summary>The operator's controlled proteins, indexed for seeded local alignment (see the design note above).</summary>
public sealed class ControlledProteinDatabase
{
    public const int K = 4;
    public const int TwoHitWindow = 48;
    public const int Band = 16;
    public const int GapOpen = 11;
    public const int GapExtend = 1;
    private const int KmerCount = 20 * 20 * 20 * 20;
    private const byte Separator = 255;

    private readonly byte[] _residues;       // every entry's codes, one Separator between entries
    private readonly int[] _starts;          // entry e spans _starts[e] .. _starts[e + 1] - 2 (the separator follows it)
    private readonly string[] _ids;
    private readonly string[] _categories;
    private readonly int[] _kmerOffsets;     // CSR index: positions of k-mer c are _positions[_kmerOffsets[c] .. _kmerOffsets[c + 1]]
    private readonly int[] _positions;
    private readonly ConcurrentBag<Scratch> _scratch = [];

    private ControlledProteinDatabase(byte[] residues, int[] starts, string[] ids, string[] categories, int[] kmerOffsets, int[] positions,
        MatchThresholds thresholds, int skippedShort, int droppedKmers)
    {
        _residues = residues;
        _starts = starts;
        _ids = ids;
        _categories = categories;
        _kmerOffsets = kmerOffsets;
        _positions = positions;
        Thresholds = thresholds;
        SkippedShort = skippedShort;
        DroppedKmers = droppedKmers;
    }

    public MatchThresholds Thresholds { get; }

    /// <summary>Entries indexed (entries shorter than MinAlignedResidues can never match and are left out).</summary>
    public int Count => _ids.Length;

    /// <summary>Entries left out because they are shorter than MinAlignedResidues.</summary>
    public int SkippedShort { get; }

    /// <summary>Distinct k-mers left out of the index as low-complexity (more than MaxKmerOccurrences occurrences).</summary>
    public int DroppedKmers { get; }

    public int Residues => _residues.Length - _ids.Length;

    /// <summary>A k-mer seen more often than this in the database is low-complexity and seeds nothing.</summary>
    public static int MaxKmerOccurrences(long databaseResidues) => (int)Math.Min(int.MaxValue, 1000 + databaseResidues / 2000);

    /// <summary>Builds the index. Residues are prepared sequences (upper-case ESMC letters; '|', '.', '-' are dropped).</summary>
    public static ControlledProteinDatabase Build(IEnumerable<ControlledProtein> proteins, MatchThresholds thresholds)
    {
        var codes = new List<byte>();
        var starts = new List<int>();
        var ids = new List<string>();
        var categories = new List<string>();
        var skipped = 0;
        foreach (var protein in proteins)
        {
            var encoded = Encode(protein.Residues);
            if (encoded.Length < thresholds.MinAlignedResidues) { skipped++; continue; }
            starts.Add(codes.Count);
            codes.AddRange(encoded);
            codes.Add(Separator);
            ids.Add(protein.Id);
            categories.Add(protein.Category);
        }
        starts.Add(codes.Count);
        var residues = codes.ToArray();

        // Counting pass, then the CSR fill; over-frequent k-mers get no postings.
        var counts = new int[KmerCount + 1];
        ForEachKmer(residues, (kmer, _) => counts[kmer]++);
        var cap = MaxKmerOccurrences(residues.Length);
        var dropped = 0;
        for (var c = 0; c < KmerCount; c++)
            if (counts[c] > cap) { counts[c] = 0; dropped++; }
        var offsets = new int[KmerCount + 1];
        for (var c = 0; c < KmerCount; c++) offsets[c + 1] = offsets[c] + counts[c];
        var positions = new int[offsets[KmerCount]];
        var fill = (int[])offsets.Clone();
        var capped = new bool[KmerCount];
        for (var c = 0; c < KmerCount; c++) capped[c] = counts[c] == 0;
        ForEachKmer(residues, (kmer, position) =>
        {
            if (!capped[kmer]) positions[fill[kmer]++] = position;
        });
        return new ControlledProteinDatabase(residues, [.. starts], [.. ids], [.. categories], offsets, positions, thresholds, skipped, dropped);
    }

    /// <summary>
    /// Reads a FASTA (or UniProt flat) file, plain or gzip. Each sequence goes through the project's input rule;
    /// a header's <c>category=NAME</c> (or <c>category="two words"</c>) sets the category, else "controlled".
    /// </summary>
    public static async Task<ControlledProteinDatabase> LoadAsync(string path, MatchThresholds thresholds, CancellationToken cancellationToken = default)
    {
        var proteins = new List<ControlledProtein>();
        await foreach (var record in CorpusReader.ReadAsync(path, new CorpusReadOptions { AllowDuplicateIds = true }, cancellationToken))
        {
            PreparedSequence prepared;
            try { prepared = ProteinSequenceInput.Prepare(record.Sequence, $"record '{record.Id}' of the screening database '{path}'"); }
            catch (InvalidSequenceException ex) { throw new InvalidDataException(ex.Message, ex); }
            proteins.Add(new ControlledProtein(record.Id, CategoryOf(record.Description), prepared.Residues));
        }
        return Build(proteins, thresholds);
    }

    private static readonly Regex CategoryPattern = new("""(?:^|\s)category=(?:"(?<q>[^"]*)"|(?<w>\S+))""", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    /// <summary>The <c>category=</c> value of a FASTA header's description, or "controlled".</summary>
    public static string CategoryOf(string? description)
    {
        if (description is null) return "controlled";
        var match = CategoryPattern.Match(description);
        if (!match.Success) return "controlled";
        var value = (match.Groups["q"].Success ? match.Groups["q"].Value : match.Groups["w"].Value).Trim();
        return value.Length == 0 ? "controlled" : value;
    }

    /// <summary>Matrix codes of prepared residues: chain breaks and gap tokens dropped, case ignored, unknown letters X.</summary>
    public static byte[] Encode(string residues)
    {
        var codes = new byte[residues.Length];
        var n = 0;
        foreach (var c in residues)
        {
            if (c is '|' or '.' or '-' || char.IsWhiteSpace(c)) continue;
            codes[n++] = Blosum62.Code(c);
        }
        return n == codes.Length ? codes : codes[..n];
    }

    /// <summary>The best-scoring alignment that passes the thresholds, or null.</summary>
    public SequenceMatch? FindBest(string residues) => FindBest(Encode(residues));

    public SequenceMatch? FindBest(byte[] query)
    {
        var n = query.Length;
        if (n < Thresholds.MinAlignedResidues || _ids.Length == 0) return null;
        if (!_scratch.TryTake(out var scratch)) scratch = new Scratch();
        try
        {
            return Search(query, scratch);
        }
        finally
        {
            scratch.Reset();
            _scratch.Add(scratch);
        }
    }

    private SequenceMatch? Search(byte[] query, Scratch scratch)
    {
        var n = query.Length;
        var last = scratch.Diagonals(_residues.Length + n + 1);
        SequenceMatch? best = null;
        var kmer = 0;
        var valid = 0;   // consecutive standard residues ending at q
        for (var q = 0; q < n; q++)
        {
            var code = query[q];
            if (code >= Blosum62.StandardCount) { valid = 0; kmer = 0; continue; }
            kmer = (kmer * 20 + code) % KmerCount;
            if (++valid < K) continue;
            var start = q - K + 1;   // query position of the k-mer
            for (var i = _kmerOffsets[kmer]; i < _kmerOffsets[kmer + 1]; i++)
            {
                var p = _positions[i];
                var diagonal = p - start + n;
                var previous = last[diagonal];
                if (previous == 0)
                {
                    scratch.Touched.Add(diagonal);
                    last[diagonal] = start + 1;
                    continue;
                }
                var distance = start - (previous - 1);
                if (distance < K) continue;   // overlapping hits are one seed
                last[diagonal] = start + 1;
                if (distance > TwoHitWindow) continue;
                var candidate = Extend(query, p, start, scratch);
                if (candidate is not null && (best is null || candidate.Score > best.Score)) best = candidate;
            }
        }
        return best;
    }

    /// <summary>Aligns the query with the entry holding global position <paramref name="position"/>, around the seed's diagonal, once per entry and band.</summary>
    private SequenceMatch? Extend(byte[] query, int position, int queryPosition, Scratch scratch)
    {
        var entry = Array.BinarySearch(_starts, position);
        if (entry < 0) entry = ~entry - 1;
        var entryStart = _starts[entry];
        var diagonal = position - entryStart - queryPosition;
        if (!scratch.TryClaimBand(entry, diagonal)) return null;
        var length = _starts[entry + 1] - 1 - entryStart;
        var result = BandedAligner.Align(query, _residues.AsSpan(entryStart, length), diagonal, Band, scratch.Aligner);
        if (result.Columns < Thresholds.MinAlignedResidues) return null;
        if (BandedAligner.BestWindow(scratch.Aligner.Identical.AsSpan(0, result.Columns), Thresholds.MinAlignedResidues, Thresholds.MinIdentity) is not { } window)
            return null;
        return new SequenceMatch(_ids[entry], _categories[entry], result.Score, window.Columns, window.Identities);
    }

    private static void ForEachKmer(byte[] residues, Action<int, int> visit)
    {
        var kmer = 0;
        var valid = 0;
        for (var p = 0; p < residues.Length; p++)
        {
            var code = residues[p];
            if (code >= Blosum62.StandardCount) { valid = 0; kmer = 0; continue; }
            kmer = (kmer * 20 + code) % KmerCount;
            if (++valid >= K) visit(kmer, p - K + 1);
        }
    }

    /// <summary>Per-search working memory, reused: all diagonal slots are zero again after <see cref="Reset"/>.</summary>
    private sealed class Scratch
    {
        private int[] _last = [];
        private readonly Dictionary<int, List<int>> _bands = [];

        public List<int> Touched { get; } = [];

        public BandedAligner.Workspace Aligner { get; } = new();

        public int[] Diagonals(int size)
        {
            if (_last.Length < size) _last = new int[size];
            return _last;
        }

        /// <summary>False when this entry was already aligned within half a band of <paramref name="diagonal"/>.</summary>
        public bool TryClaimBand(int entry, int diagonal)
        {
            if (!_bands.TryGetValue(entry, out var done)) _bands[entry] = done = [];
            foreach (var d in done)
                if (Math.Abs(d - diagonal) <= Band / 2) return false;
            done.Add(diagonal);
            return true;
        }

        public void Reset()
        {
            foreach (var d in Touched) _last[d] = 0;
            Touched.Clear();
            _bands.Clear();
        }
    }
}
