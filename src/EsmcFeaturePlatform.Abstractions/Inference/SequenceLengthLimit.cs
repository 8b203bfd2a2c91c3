namespace EsmcFeaturePlatform.Abstractions;

/// <summary>
/// The longest sequence an encoder accepts, and the setting that raises it (<c>Esmc:Inference:MaxTokens</c> on the
/// server, <c>--max-tokens</c> on the CLI), so that every error naming the limit also names the fix.
/// </summary>
[GenerateSerializer, Immutable, Alias("esmc.SequenceLengthLimit.v1")]
public sealed record SequenceLengthLimit(
    [property: Id(0)] int MaxTokens,
    [property: Id(1)] string Setting)
{
    /// <summary>Residues that fit: the limit counts &lt;cls&gt; and &lt;eos&gt;.</summary>
    public int MaxResidues => MaxTokens - 2;

    /// <summary>The one wording of "too long", naming <paramref name="record"/>, the limit and the setting.</summary>
    public string TooLongMessage(string record, int residues) =>
        $"{record} has {residues} residues ({residues + 2} tokens with <cls>/<eos>), more than the maximum of {MaxTokens} tokens ({MaxResidues} residues); raise {Setting} to accept longer sequences.";
}
