using EsmcFeaturePlatform.Corpus;
using EsmcFeaturePlatform.Core.Tests.Corpus;
using EsmcFeaturePlatform.Safety;
using EsmcFeaturePlatform.TestSupport;

namespace EsmcFeaturePlatform.Core.Tests.Safety;

/// <summary>
/// Held-out style tests of sequence screening: a database of generated "controlled" proteins (no real toxin sequence is
/// in the repository), evasions of them that must all be caught, and benign proteins (random and 100 real Swiss-Prot
/// entries) that must never be, at the default thresholds (50 residues, 60% identity).
/// </summary>
public sealed class SequenceScreeningTests
{
    private static readonly Lazy<(ControlledProteinDatabase Database, string[] Controlled)> Shared = new(() =>
    {
        var generator = new SyntheticProteins(seed: 14);
        var controlled = Enumerable.Range(0, 200).Select(_ => generator.Protein(150, 600)).ToArray();
        var database = ControlledProteinDatabase.Build(
            controlled.Select((s, i) => new ControlledProtein($"CTRL{i:D3}", i % 2 == 0 ? "toxin" : "select agent", s)), new MatchThresholds());
        return (database, controlled);
    });

    private static ControlledProteinDatabase Database => Shared.Value.Database;

    private static string[] Controlled => Shared.Value.Controlled;

    [Fact]
    public void Blosum62_is_symmetric_with_the_published_values()
    {
        for (var a = 0; a < Blosum62.Size; a++)
            for (var b = 0; b < Blosum62.Size; b++)
                Assert.Equal(Blosum62.Score((byte)a, (byte)b), Blosum62.Score((byte)b, (byte)a));
        Assert.Equal(11, Blosum62.Score(Blosum62.Code('W'), Blosum62.Code('W')));
        Assert.Equal(9, Blosum62.Score(Blosum62.Code('C'), Blosum62.Code('C')));
        Assert.Equal(4, Blosum62.Score(Blosum62.Code('A'), Blosum62.Code('A')));
        Assert.Equal(-4, Blosum62.Score(Blosum62.Code('D'), Blosum62.Code('L')));
        Assert.Equal(3, Blosum62.Score(Blosum62.Code('I'), Blosum62.Code('V')));
        Assert.Equal(Blosum62.Code('C'), Blosum62.Code('U'));
        Assert.Equal(Blosum62.X, Blosum62.Code('J'));
    }

    [Fact]
    public void The_aligner_counts_columns_and_identities_of_the_best_local_alignment()
    {
        var generator = new SyntheticProteins(seed: 1);
        var core = generator.Protein(120);
        var query = ControlledProteinDatabase.Encode(core);
        var exact = BandedAligner.Align(query, query, 0, 16, new BandedAligner.Workspace());
        Assert.Equal((120, 120), (exact.Columns, exact.Identities));

        // Three residues inserted in the middle: one alignment with a 3-column gap.
        var inserted = ControlledProteinDatabase.Encode(core[..60] + "WWW" + core[60..]);
        var gapped = BandedAligner.Align(query, inserted, 0, 16, new BandedAligner.Workspace());
        Assert.Equal((123, 120), (gapped.Columns, gapped.Identities));
    }

    [Fact]
    public void Exact_copies_substituted_copies_fragments_chain_breaks_and_lower_case_are_all_caught()
    {
        var generator = new SyntheticProteins(seed: 99);
        for (var i = 0; i < Controlled.Length; i += 10)
        {
            var hazard = Controlled[i];
            var id = $"CTRL{i:D3}";
            AssertCaught(id, hazard, "exact");
            AssertCaught(id, generator.Substitute(hazard, 0.25), "25% substituted");
            var start = generator.Random.Next(0, hazard.Length - 60);
            AssertCaught(id, generator.Embed(hazard.Substring(start, 60), 400), "60-residue fragment inside a 400-residue random protein");
            var cut = hazard.Length / 2;
            AssertCaught(id, hazard[..cut] + "|" + hazard[cut..], "split across a chain break");
            AssertCaught(id, generator.Substitute(hazard, 0.25).ToLowerInvariant(), "lower case, 25% substituted");
            AssertCaught(id, string.Join(" ", hazard.Chunk(10).Select(c => new string(c))) + "*", "white space and a stop codon");
        }
    }

    [Fact]
    public void A_match_reports_its_category_identity_and_length()
    {
        var match = Database.FindBest(ScreeningPolicy.ResiduesOf(Controlled[4]));
        Assert.NotNull(match);
        Assert.Equal(("CTRL004", "toxin", Controlled[4].Length, 1.0), (match.Id, match.Category, match.AlignmentLength, match.Identity));
        var substituted = Database.FindBest(new SyntheticProteins(5).Substitute(Controlled[5], 0.25));
        Assert.NotNull(substituted);
        Assert.Equal("select agent", substituted.Category);
        Assert.InRange(substituted.Identity, 0.70, 0.80);
    }

    [Fact]
    public void Below_the_thresholds_nothing_matches()
    {
        // 45 identical residues (< 50) and a 50% identical copy (< 60%).
        var generator = new SyntheticProteins(seed: 7);
        Assert.Null(Database.FindBest(generator.Embed(Controlled[0].Substring(10, 45), 300)));
        Assert.Null(Database.FindBest(generator.Substitute(Controlled[0], 0.5)));
    }

    [Fact]
    public void No_false_positive_on_1000_random_and_100_real_SwissProt_proteins()
    {
        var generator = new SyntheticProteins(seed: 2026);
        for (var i = 0; i < 1000; i++)
        {
            var benign = generator.Protein(50, 1000);
            Assert.True(Database.FindBest(benign) is null, $"random protein {i} ({benign.Length} residues) was flagged");
        }
        var real = ReadSwissProt();
        Assert.Equal(100, real.Count);
        foreach (var record in real)
        {
            var match = Database.FindBest(ScreeningPolicy.ResiduesOf(record.Sequence));
            Assert.True(match is null, $"Swiss-Prot {record.Id} was flagged as {match?.Id}");
        }
    }

    [Fact]
    public void Real_proteins_in_the_database_catch_themselves_or_a_near_identical_homolog()
    {
        // The 100 Swiss-Prot entries as a database: each finds itself, or an entry that is the same protein of
        // another species (the sample holds several such families, e.g. actins P68142/P68143, which differ in a few residues), never an unrelated one.
        var real = ReadSwissProt();
        var database = ControlledProteinDatabase.Build(real.Select(r => new ControlledProtein(r.Id, "test", r.Sequence)), new MatchThresholds());
        foreach (var record in real.Where(r => r.Sequence.Length >= 50))
        {
            var match = database.FindBest(record.Sequence);
            Assert.NotNull(match);
            if (match.Id == record.Id) continue;
            Assert.True(match.Identity >= 0.9, $"{record.Id} matched {match.Id} at {match.Identity:P0}");
        }
    }

    [Fact]
    public async Task A_FASTA_database_gives_categories_and_names_a_bad_record()
    {
        using var files = new CorpusTestFiles();
        var generator = new SyntheticProteins(seed: 3);
        var toxin = generator.Protein(80);
        var agent = generator.Protein(90);
        var path = files.Write("controlled.fasta",
            $">T1 made-up toxin category=toxin\n{toxin.ToLowerInvariant()}\n>A1 category=\"select agent\" more words\n{agent}\n>S1 too short\nMKTAYIAK\n>N1 no category\n{generator.Protein(60)}\n");
        var database = await ControlledProteinDatabase.LoadAsync(path, new MatchThresholds());
        Assert.Equal((3, 1), (database.Count, database.SkippedShort));
        Assert.Equal("toxin", database.FindBest(toxin)?.Category);
        Assert.Equal("select agent", database.FindBest(agent)?.Category);
        Assert.Equal("controlled", ControlledProteinDatabase.CategoryOf("no category here"));

        var bad = files.Write("bad.fasta", $">B1 category=toxin\n{toxin[..40]}1{toxin[40..]}\n");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ControlledProteinDatabase.LoadAsync(bad, new MatchThresholds()));
        Assert.Contains("B1", error.Message);
    }

    [Fact]
    public void Screening_options_are_validated_with_the_fix_in_the_message()
    {
        Assert.Contains("MinIdentity", Assert.Throws<ArgumentException>(() => new SafetyOptions { MinIdentity = 60 }.Validate()).Message);
        Assert.Contains("MinAlignedResidues", Assert.Throws<ArgumentException>(() => new SafetyOptions { MinAlignedResidues = 3 }.Validate()).Message);
        Assert.Contains("'root'", Assert.Throws<ArgumentException>(() => new SafetyOptions { ExemptRoles = "admin, root" }.Validate()).Message);
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => new SafetyOptions { SequenceDatabase = "/nonexistent/x.fasta" }.Validate()).Message);
        Assert.Equal(["admin", "curator"], new SafetyOptions { ExemptRoles = " Admin,curator " }.ExemptRoleSet.Order());
    }

    private static void AssertCaught(string id, string query, string what)
    {
        var match = Database.FindBest(ScreeningPolicy.ResiduesOf(query));
        Assert.True(match is not null, $"{what} of {id} was not caught");
        Assert.Equal(id, match.Id);
    }

    internal static List<ProteinRecord> ReadSwissProt()
    {
        var records = new List<ProteinRecord>();
        var path = CorpusTestFiles.Fixture("uniprot", "swissprot_sample.dat");
        foreach (var record in CorpusReader.ReadAsync(path).ToBlockingEnumerable()) records.Add(record);
        return records;
    }
}
