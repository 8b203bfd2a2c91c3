using System.Globalization;
using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Safety;

/// <summary>What a match does: refuse the request (and audit it) or answer it (and audit it).</summary>
public enum ScreeningAction { Block, Flag }

/// <summary>Section <c>Esmc:Safety</c> (README, "Safety").</summary>
public sealed class SafetyOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Safety";

    /// <summary>Written in <see cref="Keywords"/> to turn keyword screening off.</summary>
    public const string NoKeywords = "none";

    /// <summary>FASTA (or UniProt flat) file of controlled proteins, plain or gzip; none: sequence screening is off.</summary>
    public string? SequenceDatabase { get; set; }

    /// <summary>Shortest local alignment (columns, gaps included) that counts as a match.</summary>
    public int MinAlignedResidues { get; set; } = 50;

    /// <summary>Lowest identity (identical columns / columns) that counts as a match.</summary>
    public double MinIdentity { get; set; } = 0.60;

    /// <summary>Keyword list file (one name per line, '#' comments); empty: the shipped list; "none": keyword screening off.</summary>
    public string? Keywords { get; set; }

    /// <summary><see cref="ScreeningAction.Block"/> (default) or <see cref="ScreeningAction.Flag"/>.</summary>
    public ScreeningAction Action { get; set; } = ScreeningAction.Block;

    /// <summary>Comma-separated roles (anonymous, reader, curator, admin) whose matches are audited but never blocked.</summary>
    public string? ExemptRoles { get; set; }

    /// <summary>Keep the screened sequence or text itself in the audit log (otherwise only its SHA-256 and length).</summary>
    public bool StoreSequences { get; set; }

    /// <summary>Audit table name; empty: "screening" + the grain-state container's letters and digits.</summary>
    public string? AuditTable { get; set; }

    public static readonly string[] Roles = ["anonymous", "reader", "curator", "admin"];

    public IReadOnlySet<string> ExemptRoleSet =>
        (ExemptRoles ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => r.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);

    public MatchThresholds Thresholds => new(MinAlignedResidues, MinIdentity);

    public void Validate()
    {
        if (MinAlignedResidues < 10)
            throw new ArgumentException($"{SectionName}:MinAlignedResidues must be at least 10 (shorter alignments match by chance); got {MinAlignedResidues}.");
        if (!(MinIdentity > 0 && MinIdentity <= 1))
            throw new ArgumentException($"{SectionName}:MinIdentity must be a fraction in (0, 1], e.g. 0.6 for 60%; got {MinIdentity.ToString(CultureInfo.InvariantCulture)}.");
        foreach (var role in ExemptRoleSet)
            if (!Roles.Contains(role))
                throw new ArgumentException($"{SectionName}:ExemptRoles names the unknown role '{role}'; roles are {string.Join(", ", Roles)}.");
        if (!string.IsNullOrWhiteSpace(SequenceDatabase) && !File.Exists(SequenceDatabase))
            throw new ArgumentException($"{SectionName}:SequenceDatabase '{SequenceDatabase}' does not exist; give the path of a FASTA file of controlled proteins, or leave it empty to turn sequence screening off.");
        if (!string.IsNullOrWhiteSpace(Keywords) && !Keywords.Equals(NoKeywords, StringComparison.OrdinalIgnoreCase) && !File.Exists(Keywords))
            throw new ArgumentException($"{SectionName}:Keywords '{Keywords}' does not exist; give the path of a keyword list, leave it empty for the shipped list, or write '{NoKeywords}'.");
    }
}
