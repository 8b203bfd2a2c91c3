using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Core.Tests.Sequences;

public sealed class LongSequenceWindowsTests
{
    [Theory]
    [InlineData(10, 10)]
    [InlineData(11, 10)]
    [InlineData(25, 10)]
    [InlineData(3148, 2046)]
    [InlineData(7, 1)]
    public void Windows_cover_the_protein_never_exceed_the_limit_and_end_at_its_end(int length, int max)
    {
        var windows = LongSequenceWindows.Plan(length, max);
        Assert.All(windows, w => Assert.InRange(w.Length, 1, max));
        Assert.Equal(0, windows[0].Start);
        Assert.Equal(length, windows[^1].Start + windows[^1].Length);
        for (var i = 1; i < windows.Length; i++) Assert.True(windows[i].Start <= windows[i - 1].Start + windows[i - 1].Length, "windows overlap or touch");
        if (length <= max) Assert.Single(windows);
    }

    [Fact]
    public void Each_residue_takes_its_row_from_the_window_where_it_has_the_most_context()
    {
        // 12 residues, windows of 8 every 4: [0,8) [4,12). The value of a residue's row tells which window it came from.
        var windows = LongSequenceWindows.Plan(12, 8);
        Assert.Equal([(0, 8), (4, 8)], windows);
        var encoded = windows.Select((w, k) => new EncodedSequence("s", w.Length,
            [.. Enumerable.Range(0, w.Length).Select(r => new[] { new FeatureActivation(k, 1f + r) })], [], 0)).ToArray();

        var merged = LongSequenceWindows.Merge("s", 12, windows, encoded);

        Assert.Equal(12, merged.Residues.Length);
        // Residues 0-5 are farther from a cut in window 0 (its only cut is after residue 7); 6-11 in window 1.
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], merged.Residues.Select(r => r[0].Index));
        Assert.Equal(3f, merged.Residues[6][0].Value);   // residue 6 is row 2 of window 1 (it starts at 4): value 1 + 2
        Assert.Equal(FeatureMath.Pool(merged.Residues), merged.Pooled);
    }
}
