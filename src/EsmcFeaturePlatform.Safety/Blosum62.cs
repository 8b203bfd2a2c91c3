namespace EsmcFeaturePlatform.Safety;

/// <summary>
/// The BLOSUM62 substitution matrix (Henikoff and Henikoff 1992, as distributed with NCBI BLAST) over residue codes:
/// the 20 standard amino acids, B, Z and X. Selenocysteine (U) is scored as cysteine and pyrrolysine (O) as lysine,
/// the residues they replace; any other character is X.
/// </summary>
public static class Blosum62
{
    /// <summary>Code order of the matrix rows and columns.</summary>
    public const string Order = "ARNDCQEGHILKMFPSTWYVBZX";

    /// <summary>Codes below this are the 20 standard amino acids (the only ones k-mer seeds use).</summary>
    public const int StandardCount = 20;

    public const byte X = 22;

    private static readonly sbyte[,] Rows =
    {
        //  A   R   N   D   C   Q   E   G   H   I   L   K   M   F   P   S   T   W   Y   V   B   Z   X
        {   4, -1, -2, -2,  0, -1, -1,  0, -2, -1, -1, -1, -1, -2, -1,  1,  0, -3, -2,  0, -2, -1,  0 }, // A
        {  -1,  5,  0, -2, -3,  1,  0, -2,  0, -3, -2,  2, -1, -3, -2, -1, -1, -3, -2, -3, -1,  0, -1 }, // R
        {  -2,  0,  6,  1, -3,  0,  0,  0,  1, -3, -3,  0, -2, -3, -2,  1,  0, -4, -2, -3,  3,  0, -1 }, // N
        {  -2, -2,  1,  6, -3,  0,  2, -1, -1, -3, -4, -1, -3, -3, -1,  0, -1, -4, -3, -3,  4,  1, -1 }, // D
        {   0, -3, -3, -3,  9, -3, -4, -3, -3, -1, -1, -3, -1, -2, -3, -1, -1, -2, -2, -1, -3, -3, -2 }, // C
        {  -1,  1,  0,  0, -3,  5,  2, -2,  0, -3, -2,  1,  0, -3, -1,  0, -1, -2, -1, -2,  0,  3, -1 }, // Q
        {  -1,  0,  0,  2, -4,  2,  5, -2,  0, -3, -3,  1, -2, -3, -1,  0, -1, -3, -2, -2,  1,  4, -1 }, // E
        {   0, -2,  0, -1, -3, -2, -2,  6, -2, -4, -4, -2, -3, -3, -2,  0, -2, -2, -3, -3, -1, -2, -1 }, // G
        {  -2,  0,  1, -1, -3,  0,  0, -2,  8, -3, -3, -1, -2, -1, -2, -1, -2, -2,  2, -3,  0,  0, -1 }, // H
        {  -1, -3, -3, -3, -1, -3, -3, -4, -3,  4,  2, -3,  1,  0, -3, -2, -1, -3, -1,  3, -3, -3, -1 }, // I
        {  -1, -2, -3, -4, -1, -2, -3, -4, -3,  2,  4, -2,  2,  0, -3, -2, -1, -2, -1,  1, -4, -3, -1 }, // L
        {  -1,  2,  0, -1, -3,  1,  1, -2, -1, -3, -2,  5, -1, -3, -1,  0, -1, -3, -2, -2,  0,  1, -1 }, // K
        {  -1, -1, -2, -3, -1,  0, -2, -3, -2,  1,  2, -1,  5,  0, -2, -1, -1, -1, -1,  1, -3, -1, -1 }, // M
        {  -2, -3, -3, -3, -2, -3, -3, -3, -1,  0,  0, -3,  0,  6, -4, -2, -2,  1,  3, -1, -3, -3, -1 }, // F
        {  -1, -2, -2, -1, -3, -1, -1, -2, -2, -3, -3, -1, -2, -4,  7, -1, -1, -4, -3, -2, -2, -1, -2 }, // P
        {   1, -1,  1,  0, -1,  0,  0,  0, -1, -2, -2,  0, -1, -2, -1,  4,  1, -3, -2, -2,  0,  0,  0 }, // S
        {   0, -1,  0, -1, -1, -1, -1, -2, -2, -1, -1, -1, -1, -2, -1,  1,  5, -2, -2,  0, -1, -1,  0 }, // T
        {  -3, -3, -4, -4, -2, -2, -3, -2, -2, -3, -2, -3, -1,  1, -4, -3, -2, 11,  2, -3, -4, -3, -2 }, // W
        {  -2, -2, -2, -3, -2, -1, -2, -3,  2, -1, -1, -2, -1,  3, -3, -2, -2,  2,  7, -1, -3, -2, -1 }, // Y
        {   0, -3, -3, -3, -1, -2, -2, -3, -3,  3,  1, -2,  1, -1, -2, -2,  0, -3, -1,  4, -3, -2, -1 }, // V
        {  -2, -1,  3,  4, -3,  0,  1, -1,  0, -3, -4,  0, -3, -3, -2,  0, -1, -4, -3, -3,  4,  1, -1 }, // B
        {  -1,  0,  0,  1, -3,  3,  4, -2,  0, -3, -3,  1, -1, -3, -1,  0, -1, -3, -2, -2,  1,  4, -1 }, // Z
        {   0, -1, -1, -1, -2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -2,  0,  0, -2, -1, -1, -1, -1, -1 }, // X
    };

    /// <summary>Row-major scores, <c>Scores[a * Size + b]</c>, for the aligner's inner loop.</summary>
    public static readonly int[] Scores = Flatten();

    public const int Size = 23;

    private static readonly byte[] CodeOf = BuildCodes();

    public static int Score(byte a, byte b) => Scores[a * Size + b];

    /// <summary>The matrix code of a residue letter (either case); X for anything else.</summary>
    public static byte Code(char residue) => residue < 128 ? CodeOf[residue] : X;

    private static int[] Flatten()
    {
        var scores = new int[Size * Size];
        for (var a = 0; a < Size; a++)
            for (var b = 0; b < Size; b++) scores[a * Size + b] = Rows[a, b];
        return scores;
    }

    private static byte[] BuildCodes()
    {
        var codes = new byte[128];
        Array.Fill(codes, X);
        for (var i = 0; i < Order.Length; i++)
        {
            codes[Order[i]] = (byte)i;
            codes[char.ToLowerInvariant(Order[i])] = (byte)i;
        }
        codes['U'] = codes['u'] = codes['C'];
        codes['O'] = codes['o'] = codes['K'];
        return codes;
    }
}
