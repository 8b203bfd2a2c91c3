using System.Security.Cryptography;
using System.Text;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Telemetry;
using Microsoft.Extensions.Logging;

namespace EsmcFeaturePlatform.Safety;

/// <summary>
/// The platform's <see cref="IScreeningPolicy"/>: sequences against the controlled-protein database (when the operator
/// gave one), texts against the keyword list; a match is audited, then blocked unless the action is Flag or the
/// caller's role is exempt. A match is blocked even when the audit log cannot be written (the failure is logged).
/// </summary>
public sealed class ScreeningPolicy(
    SafetyOptions options, ControlledProteinDatabase? database, KeywordList? keywords, IScreeningAuditLog audit, ILogger<ScreeningPolicy> logger)
    : IScreeningPolicy
{
    private readonly IReadOnlySet<string> _exempt = options.ExemptRoleSet;

    /// <summary>Reads the database and keyword list the options name (file problems are thrown, naming the file and record).</summary>
    public static async Task<ScreeningPolicy> CreateAsync(SafetyOptions options, IScreeningAuditLog audit, ILogger<ScreeningPolicy> logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var database = string.IsNullOrWhiteSpace(options.SequenceDatabase)
            ? null
            : await ControlledProteinDatabase.LoadAsync(options.SequenceDatabase, options.Thresholds, cancellationToken);
        var keywords = options.Keywords switch
        {
            null or "" => KeywordList.Default(),
            var k when k.Equals(SafetyOptions.NoKeywords, StringComparison.OrdinalIgnoreCase) => null,
            var path => KeywordList.Load(path),
        };
        return new ScreeningPolicy(options, database, keywords, audit, logger);
    }

    public ScreeningStatus Status => new(
        database is not null, database?.Count ?? 0, options.SequenceDatabase, keywords is not null, keywords?.Count ?? 0, options.Action.ToString(),
        (database is null
            ? "sequence screening OFF (no Esmc:Safety:SequenceDatabase)"
            : $"sequence screening on: {database.Count} controlled proteins, alignments of >= {options.MinAlignedResidues} residues at >= {options.MinIdentity:P0} identity")
        + "; " + (keywords is null ? "keyword screening OFF" : $"keyword screening on: {keywords.Count} names")
        + $"; action {options.Action}" + (_exempt.Count > 0 ? $" (exempt roles: {string.Join(", ", _exempt)})" : ""));

    public Task<ScreeningVerdict> ScreenSequenceAsync(string sequence, ScreeningRequest request, CancellationToken cancellationToken = default)
    {
        if (database is null || string.IsNullOrEmpty(sequence)) return Task.FromResult(ScreeningVerdict.Clear);
        var residues = ResiduesOf(sequence);
        var match = database.FindBest(residues);
        if (match is null) return Task.FromResult(ScreeningVerdict.Clear);
        var hit = new ScreeningHit(ScreeningMatchKind.Sequence, match.Id, match.Category, match.Identity, match.AlignmentLength);
        return DecideAsync(hit, residues, request, cancellationToken);
    }

    public Task<ScreeningVerdict> ScreenTextAsync(string text, ScreeningRequest request, CancellationToken cancellationToken = default)
    {
        if (keywords?.FindFirst(text) is not { } name) return Task.FromResult(ScreeningVerdict.Clear);
        return DecideAsync(new ScreeningHit(ScreeningMatchKind.Keyword, name, "keyword", 1, 0), text, request, cancellationToken);
    }

    /// <summary>
    /// What is compared: the sequence after the project's input rule; a text the rule refuses (it will be refused or
    /// sent as it is with strict: false) is screened as it is, every character outside the residue codes counting as X.
    /// </summary>
    public static string ResiduesOf(string sequence)
    {
        try { return ProteinSequenceInput.Prepare(sequence, "the sequence").Residues; }
        catch (InvalidSequenceException) { return sequence; }
    }

    private async Task<ScreeningVerdict> DecideAsync(ScreeningHit hit, string content, ScreeningRequest request, CancellationToken cancellationToken)
    {
        var blocked = options.Action == ScreeningAction.Block && !_exempt.Contains(request.Caller.Role);
        var action = blocked ? "BLOCKED" : options.Action == ScreeningAction.Block ? "ALLOWED_EXEMPT" : "FLAGGED";
        PlatformTelemetry.ScreeningMatches.Add(1, new("esmc.screening.kind", hit.Kind.ToString()), new("esmc.screening.action", action));
        try
        {
            var clientHash = request.Caller.IsAnonymous && !string.IsNullOrEmpty(request.Caller.ClientAddress)
                ? await audit.HashClientAddressAsync(request.Caller.ClientAddress, cancellationToken)
                : null;
            await audit.AppendAsync(new ScreeningEvent(
                DateTimeOffset.UtcNow, request.Caller.Name, clientHash, request.EntryPoint, request.Subject, hit.Kind,
                Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content))), content.Length,
                options.StoreSequences ? content : null, hit.Entry, hit.Category, hit.Identity, hit.AlignmentLength, action), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Screening match at {EntryPoint} by {Caller} ({Category}, {Action}) could not be written to the audit log", request.EntryPoint, request.Caller.Name, hit.Category, action);
        }
        logger.LogWarning("Screening match at {EntryPoint} by {Caller}: {Kind} {Category} ({Identity:P0} over {Length}); {Action}",
            request.EntryPoint, request.Caller.Name, hit.Kind, hit.Category, hit.Identity, hit.AlignmentLength, action);
        return new ScreeningVerdict(hit, blocked);
    }
}
