using System.Text;

namespace EsmcFeaturePlatform.TestSupport;

/// <summary>
/// Random proteins with Swiss-Prot's amino-acid composition, from a seeded generator (the same every run): stand-ins
/// for controlled proteins in the screening tests (no real toxin sequence is in this repository), and the edits an
/// evader would try (substitutions, fragments, embedding, chain breaks, lower case).
/// </summary>
public sealed class SyntheticProteins(int seed)
{
    private const string Residues = "ARNDCQEGHILKMFPSTWYV";

    // UniProtKB/Swiss-Prot composition (release statistics), percent, in the order of Residues.
    private static readonly double[] Percent = [8.25, 5.53, 4.06, 5.45, 1.37, 3.93, 6.75, 7.07, 2.27, 5.96, 9.66, 5.84, 2.42, 3.86, 4.70, 6.56, 5.34, 1.08, 2.92, 6.87];

    private static readonly double[] Cumulative = BuildCumulative();

    private readonly Random _random = new(seed);

    public Random Random => _random;

    public char NextResidue()
    {
        var x = _random.NextDouble();
        var i = Array.BinarySearch(Cumulative, x);
        return Residues[Math.Min(Residues.Length - 1, i < 0 ? ~i : i)];
    }

    public string Protein(int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++) builder.Append(NextResidue());
        return builder.ToString();
    }

    public string Protein(int minLength, int maxLength) => Protein(_random.Next(minLength, maxLength + 1));

    /// <summary>Replaces round(rate x length) distinct positions, each with a different residue: identity 1 - rate exactly.</summary>
    public string Substitute(string protein, double rate)
    {
        var chars = protein.ToCharArray();
        var count = (int)Math.Round(rate * chars.Length);
        var positions = Enumerable.Range(0, chars.Length).OrderBy(_ => _random.Next()).Take(count);
        foreach (var p in positions)
        {
            char replacement;
            do replacement = NextResidue(); while (replacement == chars[p]);
            chars[p] = replacement;
        }
        return new string(chars);
    }

    /// <summary><paramref name="fragment"/> inside a random protein of <paramref name="totalLength"/> residues, at a random place.</summary>
    public string Embed(string fragment, int totalLength)
    {
        var flank = totalLength - fragment.Length;
        var before = _random.Next(0, flank + 1);
        return Protein(before) + fragment + Protein(flank - before);
    }

    private static double[] BuildCumulative()
    {
        var total = Percent.Sum();
        var cumulative = new double[Percent.Length];
        var sum = 0.0;
        for (var i = 0; i < Percent.Length; i++) { sum += Percent[i] / total; cumulative[i] = sum; }
        return cumulative;
    }
}
