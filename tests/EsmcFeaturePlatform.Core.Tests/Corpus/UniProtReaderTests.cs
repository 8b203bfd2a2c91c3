using System.Text.RegularExpressions;
using EsmcFeaturePlatform.Corpus;

namespace EsmcFeaturePlatform.Core.Tests.Corpus;

public sealed partial class UniProtReaderTests : IDisposable
{
    private static readonly string SwissProtSample = CorpusTestFiles.Fixture("uniprot", "swissprot_sample.dat");
    private readonly CorpusTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static async Task<List<ProteinRecord>> ReadAllAsync(string path, CorpusReadOptions? options = null)
    {
        var records = new List<ProteinRecord>();
        await foreach (var record in CorpusReader.ReadAsync(path, options ?? CorpusReadOptions.Strict))
            records.Add(record);
        return records;
    }

    /// <summary>An independent, deliberately naive scan of the flat file: first accession and SQ length per entry.</summary>
    private static List<(string Accession, int Length, string Sequence)> NaiveScan(string path)
    {
        var entries = new List<(string, int, string)>();
        string? accession = null;
        var length = 0;
        var sequence = "";
        var inSequence = false;
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("AC", StringComparison.Ordinal) && accession is null)
                accession = line[2..].Trim().Split(';')[0].Trim();
            else if (line.StartsWith("SQ", StringComparison.Ordinal))
            {
                length = int.Parse(SqLength().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                inSequence = true;
            }
            else if (line.StartsWith("//", StringComparison.Ordinal))
            {
                entries.Add((accession!, length, sequence));
                accession = null;
                sequence = "";
                inSequence = false;
            }
            else if (inSequence)
                sequence += line.Replace(" ", "", StringComparison.Ordinal);
        }
        return entries;
    }

    [Fact]
    public async Task Reads_every_entry_of_the_real_swissprot_sample()
    {
        var expected = NaiveScan(SwissProtSample);
        var records = await ReadAllAsync(SwissProtSample);

        Assert.Equal(expected.Count, records.Count);
        Assert.Equal(expected.Select(e => e.Accession), records.Select(r => r.Id));
        Assert.Equal(expected.Select(e => e.Length), records.Select(r => r.Sequence.Length));
        Assert.Equal(expected.Select(e => e.Sequence), records.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(1, expected.Count), records.Select(r => r.RecordNumber));
        Assert.All(records, r => Assert.All(r.Annotations, a =>
        {
            Assert.InRange(a.Start, 1, r.Sequence.Length);
            Assert.InRange(a.End, a.Start, r.Sequence.Length);
        }));
    }

    [Fact]
    public async Task Parses_description_keywords_and_old_style_feature_table_of_a_real_entry()
    {
        var records = await ReadAllAsync(SwissProtSample);
        var cru4 = records.Single(r => r.Id == "P15455");

        // Values as printed in the fixture's P15455 (CRU4_ARATH) entry.
        Assert.Equal("12S seed storage protein CRU4", cru4.Description);
        Assert.Contains("Seed storage protein", cru4.Keywords);
        Assert.Contains("Vacuole", cru4.Keywords);
        Assert.Contains("Alternative splicing", cru4.Keywords);
        Assert.Contains(new SequenceAnnotation("SIGNAL", 1, 24, "By similarity."), cru4.Annotations);
        Assert.Contains(new SequenceAnnotation("CHAIN", 25, 282, "12S seed storage protein CRU4 alpha chain (By similarity)."), cru4.Annotations);
        Assert.Contains(new SequenceAnnotation("DISULFID", 112, 289, "Interchain (between alpha and beta chains) (Potential)."), cru4.Annotations);
        Assert.Contains(new SequenceAnnotation("MOD_RES", 115, 115, "Phosphothreonine."), cru4.Annotations);
    }

    [Fact]
    public async Task Every_feature_line_of_the_real_sample_becomes_an_annotation()
    {
        // Lines with a feature type in column 6 start a feature; the sample has no unplaceable locations.
        var featureStarts = File.ReadLines(SwissProtSample).Count(l => l.StartsWith("FT   ", StringComparison.Ordinal) && l[5] != ' ');
        var records = await ReadAllAsync(SwissProtSample);
        Assert.Equal(featureStarts, records.Sum(r => r.Annotations.Count));
        Assert.Contains(records.SelectMany(r => r.Annotations), a => a.Type == "TRANSMEM");
    }

    [Fact]
    public async Task Uncertain_positions_in_the_real_sample_keep_their_numbers()
    {
        var records = await ReadAllAsync(SwissProtSample);
        var uncertain = File.ReadLines(SwissProtSample)
            .Where(l => l.StartsWith("FT   ", StringComparison.Ordinal) && l[5] != ' ')
            .Select(l => l[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p[1].StartsWith('<') || p[2].StartsWith('>'))
            .ToList();
        Assert.NotEmpty(uncertain);
        foreach (var parts in uncertain)
        {
            var start = int.Parse(parts[1].TrimStart('<'), System.Globalization.CultureInfo.InvariantCulture);
            var end = int.Parse(parts[2].TrimStart('>'), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains(records.SelectMany(r => r.Annotations), a => a.Type == parts[0] && a.Start == start && a.End == end);
        }
    }

    private const string ModernEntry = """
        ID   TEST1_HUMAN             Reviewed;          30 AA.
        AC   Q00001; Q00002;
        AC   Q00003;
        DE   RecName: Full=Test protein alpha {ECO:0000305};
        DE   AltName: Full=Other name;
        KW   Signal {ECO:0000255}; Transmembrane;
        KW   Phosphoprotein.
        FT   SIGNAL          1..5
        FT                   /evidence="ECO:0000255"
        FT   TRANSMEM        <7..>20
        FT                   /note="Helical; a note that is long enough to be
        FT                   wrapped"
        FT                   /evidence="ECO:0000255"
        FT   MOD_RES         12
        FT                   /note="Phosphoserine"
        FT   DISULFID        ?..25
        FT   VAR_SEQ         Q00001-2:3..4
        FT   REGION          25..40
        SQ   SEQUENCE   30 AA;  3000 MW;  0000000000000000 CRC64;
             MKVLAAGIVG LLLASCSKEE AAPQWTYRRR
        //

        """;

    [Fact]
    public async Task Parses_the_current_feature_table_style()
    {
        var record = Assert.Single(await ReadAllAsync(_files.Write("modern.txt", ModernEntry)));

        Assert.Equal("Q00001", record.Id);
        Assert.Equal("MKVLAAGIVGLLLASCSKEEAAPQWTYRRR", record.Sequence);
        Assert.Equal("Test protein alpha", record.Description);
        Assert.Equal(["Signal", "Transmembrane", "Phosphoprotein"], record.Keywords);
        // Unknown start (?..25), another isoform's coordinates and a region past the end are left out.
        Assert.Equal(
            [
                new SequenceAnnotation("SIGNAL", 1, 5, null),
                new SequenceAnnotation("TRANSMEM", 7, 20, "Helical; a note that is long enough to be wrapped"),
                new SequenceAnnotation("MOD_RES", 12, 12, "Phosphoserine"),
            ],
            record.Annotations);
    }

    [Fact]
    public async Task Gzipped_flat_file_is_read()
    {
        var path = _files.WriteBytes("sample.dat.gz", CorpusTestFiles.Gzip(File.ReadAllBytes(SwissProtSample)));
        var plain = await ReadAllAsync(SwissProtSample);
        var gzip = await ReadAllAsync(path);
        Assert.Equal(plain.Select(r => (r.Id, r.Sequence)), gzip.Select(r => (r.Id, r.Sequence)));
    }

    [Fact]
    public async Task Entry_without_sequence_is_a_record_level_error()
    {
        var noSequence = ModernEntry.Replace("     MKVLAAGIVG LLLASCSKEE AAPQWTYRRR\n", "", StringComparison.Ordinal)
            .Replace("SQ   SEQUENCE   30 AA;  3000 MW;  0000000000000000 CRC64;\n", "", StringComparison.Ordinal);
        var path = _files.Write("noseq.dat", noSequence + ModernEntry.Replace("Q00001;", "Q00009;", StringComparison.Ordinal));

        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Equal("Q00001", ex.RecordId);
        Assert.Contains("no sequence", ex.Message, StringComparison.Ordinal);

        var skipped = new List<CorpusFormatException>();
        var records = await ReadAllAsync(path, new CorpusReadOptions { OnInvalidRecord = skipped.Add });
        Assert.Equal("Q00009", Assert.Single(records).Id);
        Assert.Single(skipped);
    }

    [Fact]
    public async Task Sequence_shorter_than_its_SQ_line_is_an_error()
    {
        var path = _files.Write("short.dat", ModernEntry.Replace(" AAPQWTYRRR", "", StringComparison.Ordinal));
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Contains("declares 30 residues but the sequence block holds 20", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task File_cut_inside_an_entry_is_an_error()
    {
        var text = File.ReadAllText(SwissProtSample);
        var path = _files.Write("cut.dat", text[..(text.Length / 2)]);
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Contains("no closing '//'", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsRecordLevel);
    }

    [Fact]
    public async Task Duplicate_accessions_are_reported()
    {
        var path = _files.Write("dup.dat", ModernEntry + ModernEntry);
        var ex = await Assert.ThrowsAsync<CorpusFormatException>(() => ReadAllAsync(path));
        Assert.Equal("Q00001", ex.RecordId);
        Assert.Contains("duplicate accession", ex.Message, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"SEQUENCE\s+(\d+)\s+AA;")]
    private static partial Regex SqLength();
}
