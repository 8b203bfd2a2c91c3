using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Azure;
using Azure.Data.Tables;
using EsmcFeaturePlatform.Abstractions;

namespace EsmcFeaturePlatform.Safety;

/// <summary>
/// The screening audit log as an Azure Table (the platform's storage account), append-only: events are inserted
/// (an insert never replaces a row) and nothing in the platform updates or deletes them.
/// <para>PartitionKey "event"; RowKey = 19 digits of (DateTime.MaxValue - time) ticks + "-" + a random id, so a
/// partition scan reads newest first and a RowKey is also the page cursor. The salt of the client-address hash is
/// one row (PartitionKey "salt"), created once (first writer wins), so hashes stay comparable across restarts and
/// silos while the salt never leaves storage.</para>
/// </summary>
public sealed partial class ScreeningAuditTable : IScreeningAuditLog
{
    private const string EventPartition = "event";
    private const string SaltPartition = "salt";
    private readonly TableClient _table;
    private readonly Lazy<Task> _created;
    private readonly Lazy<Task<byte[]>> _salt;

    public ScreeningAuditTable(TableServiceClient service, string tableName)
    {
        TableName = tableName;
        _table = service.GetTableClient(tableName);
        _created = new Lazy<Task>(() => _table.CreateIfNotExistsAsync());
        _salt = new Lazy<Task<byte[]>>(ReadOrCreateSaltAsync);
    }

    public string TableName { get; }

    /// <summary>The audit table that goes with a grain-state container: "screening" + its letters and digits.</summary>
    public static string TableNameFor(string container)
    {
        var name = "screening" + new string([.. container.Where(char.IsAsciiLetterOrDigit)]);
        return name.Length > 63 ? name[..63] : name;
    }

    public async Task AppendAsync(ScreeningEvent e, CancellationToken cancellationToken = default)
    {
        await _created.Value;
        var rowKey = $"{DateTime.MaxValue.Ticks - e.Time.UtcTicks:D19}-{Guid.NewGuid():N}";
        var entity = new TableEntity(EventPartition, rowKey)
        {
            ["Time"] = e.Time,
            ["Caller"] = e.Caller,
            ["ClientHash"] = e.ClientHash,
            ["EntryPoint"] = e.EntryPoint,
            ["Subject"] = e.Subject,
            ["Kind"] = e.Kind.ToString(),
            ["Sha256"] = e.Sha256,
            ["Length"] = e.Length,
            ["Content"] = e.Content,
            ["Entry"] = e.Entry,
            ["Category"] = e.Category,
            ["Identity"] = e.Identity,
            ["AlignmentLength"] = e.AlignmentLength,
            ["Action"] = e.Action,
        };
        await _table.AddEntityAsync(entity, cancellationToken);
    }

    public async Task<ScreeningEventPage> ReadAsync(int first, string? after, CancellationToken cancellationToken = default)
    {
        if (after is not null && !CursorPattern().IsMatch(after))
            throw new ArgumentException($"Argument 'after' is not a cursor of screeningEvents: '{after}'.");
        await _created.Value;
        var total = 0;
        await foreach (var _ in _table.QueryAsync<TableEntity>($"PartitionKey eq '{EventPartition}'", select: ["RowKey"], cancellationToken: cancellationToken))
            total++;
        var filter = after is null
            ? $"PartitionKey eq '{EventPartition}'"
            : TableClient.CreateQueryFilter($"PartitionKey eq {EventPartition} and RowKey gt {after}");
        var edges = new List<ScreeningEventEdge>();
        var more = false;
        if (first > 0)
        {
            await foreach (var entity in _table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(1000, first + 1), cancellationToken: cancellationToken))
            {
                if (edges.Count == first) { more = true; break; }
                edges.Add(new ScreeningEventEdge(entity.RowKey, ToEvent(entity)));
            }
        }
        return new ScreeningEventPage(total, edges, more, edges.Count > 0 ? edges[^1].Cursor : after);
    }

    public async Task<string> HashClientAddressAsync(string address, CancellationToken cancellationToken = default)
    {
        var salt = await _salt.Value;
        return Convert.ToHexStringLower(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(address)))[..32];
    }

    private async Task<byte[]> ReadOrCreateSaltAsync()
    {
        await _created.Value;
        try
        {
            var created = new TableEntity(SaltPartition, "client-address") { ["Salt"] = RandomNumberGenerator.GetBytes(32) };
            await _table.AddEntityAsync(created);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Another process created it first: use theirs.
        }
        var stored = await _table.GetEntityAsync<TableEntity>(SaltPartition, "client-address");
        return stored.Value.GetBinary("Salt");
    }

    private static ScreeningEvent ToEvent(TableEntity e) => new(
        e.GetDateTimeOffset("Time") ?? DateTimeOffset.MinValue,
        e.GetString("Caller") ?? "",
        e.GetString("ClientHash"),
        e.GetString("EntryPoint") ?? "",
        e.GetString("Subject"),
        Enum.TryParse<ScreeningMatchKind>(e.GetString("Kind"), out var kind) ? kind : ScreeningMatchKind.Sequence,
        e.GetString("Sha256") ?? "",
        e.GetInt32("Length") ?? 0,
        e.GetString("Content"),
        e.GetString("Entry") ?? "",
        e.GetString("Category") ?? "",
        e.GetDouble("Identity") ?? 0,
        e.GetInt32("AlignmentLength") ?? 0,
        e.GetString("Action") ?? "");

    [GeneratedRegex("^[0-9]{19}-[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex CursorPattern();
}
