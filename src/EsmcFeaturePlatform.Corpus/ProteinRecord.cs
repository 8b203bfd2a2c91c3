namespace EsmcFeaturePlatform.Corpus;

/// <summary>
/// One feature-table entry of a UniProt record (an <c>FT</c> line). <see cref="Start"/> and <see cref="End"/>
/// are 1-based inclusive residue numbers; uncertain bounds (<c>&lt;5</c>, <c>&gt;90</c>, <c>?12</c>) keep their number.
/// </summary>
[GenerateSerializer, Alias("esmc.SequenceAnnotation.v1")]
public sealed record SequenceAnnotation(
    [property: Id(0)] string Type,
    [property: Id(1)] int Start,
    [property: Id(2)] int End,
    [property: Id(3)] string? Note);

/// <summary>
/// One protein read from a corpus file. <see cref="Id"/> is the FASTA id (header up to the first white space)
/// or the first UniProt accession; <see cref="RecordNumber"/> is the 1-based position of the record in its file
/// (records skipped as invalid still count, so numbers match what a user sees in the file).
/// </summary>
[GenerateSerializer, Alias("esmc.ProteinRecord.v1")]
public sealed record ProteinRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] string Sequence,
    [property: Id(2)] string? Description,
    [property: Id(3)] IReadOnlyList<SequenceAnnotation> Annotations,
    [property: Id(4)] IReadOnlyList<string> Keywords,
    [property: Id(5)] int RecordNumber);
