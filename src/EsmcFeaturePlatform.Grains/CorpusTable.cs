using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using EsmcFeaturePlatform.Abstractions.Grains;

namespace EsmcFeaturePlatform.Grains;

/*
 * Design note: where indexed proteins live, and why not in grain state.
 *
 * A corpus shard used to keep every protein it indexed (and its claim marker) in its grain state, so a shard's
 * memory, and the cost of each claim (the whole state rewritten per batch), grew with the corpus. Now each protein
 * is one row of an Azure Table (the same storage account as grain state), and the shard grain keeps nothing:
 *
 *   PartitionKey  escaped SAE id + "_" + shard (CorpusSharding: 16 partitions per SAE, so claims spread over them)
 *   RowKey        16 hex digits of CorpusSharding.StableHash(id), then the SHA-256 of the id in hex. The hash prefix
 *                 sorts a partition by sampling order, so the describe job's deterministic sample (smallest hashes
 *                 first) reads only the first rows; the SHA-256 makes the key unique per id whatever the id holds
 *                 (RowKeys forbid / \ # ? and control characters, and are limited to 1 KiB; ids are not).
 *   Claim         the batch (JOB:BATCH) that first stored the row: a retried batch recognises its own rows.
 *   P0..Pn        the protein (id, sequence, description, annotations, keywords) as gzipped JSON, cut into
 *                 binary properties of at most 64 KiB (the per-property limit; a titin-size protein needs two or
 *                 three). A record too large for one entity (1 MiB) is refused naming it, before anything is written.
 *
 * First writer wins because inserting an entity that exists fails (409), atomically per entity. The common case,
 * a batch of new ids, is one entity-group transaction per partition (all-or-nothing); when it conflicts, the
 * batch's rows are inserted one by one and each conflict is resolved by reading the row's Claim. Release deletes a
 * row only when its Claim is the failed batch (and with the ETag read, so it never deletes a row someone else
 * wrote meanwhile). A row whose claimant is dead (its job failed before committing that batch, or has no state:
 * nothing ever counted the protein and nothing will release it) is taken over: rewritten with the new batch's claim,
 * again under the ETag read. Memory and write cost per claim are bounded by the batch, never by the corpus.
 *
 * The table's name follows the grain-state container (TableNameFor), so a cluster pointed at a container finds the
 * corpus that goes with it. Proteins stored in grain state by earlier versions are not migrated (re-index).
 */
/// <summary>The indexed proteins of every SAE, one Azure Table row per protein; see the design note above.</summary>
public sealed class CorpusTable
{
    /// <summary>Azure Table limits: binary property size, actions per transaction, and what we allow per entity.</summary>
    private const int ChunkBytes = 64 * 1024;
    private const int MaxChunks = 15;   // 15 x 64 KiB plus keys and Claim stays under the 1 MiB entity limit
    public const int MaxStoredBytes = ChunkBytes * MaxChunks;
    private const int MaxTransactionActions = 100;
    private const int MaxTransactionBytes = 2 * 1024 * 1024;   // the service allows 4 MiB per body, and binary goes as base64 (4/3)

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TableClient _table;
    private readonly Lazy<Task> _created;

    public CorpusTable(TableServiceClient service, string tableName)
    {
        TableName = tableName;
        _table = service.GetTableClient(tableName);
        _created = new Lazy<Task>(() => _table.CreateIfNotExistsAsync());
    }

    public string TableName { get; }

    /// <summary>The corpus table that goes with a grain-state container: "corpus" + its letters and digits (table names are alphanumeric).</summary>
    public static string TableNameFor(string container)
    {
        var name = "corpus" + new string([.. container.Where(char.IsAsciiLetterOrDigit)]);
        return name.Length > 63 ? name[..63] : name;
    }

    public static string PartitionKey(string saeId, int shard) => $"{Uri.EscapeDataString(saeId)}_{shard:D2}";

    public static string RowKey(string sequenceId) =>
        $"{CorpusSharding.StableHash(sequenceId):x16}{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sequenceId)))}";

    private async Task<TableClient> TableAsync()
    {
        await _created.Value;
        return _table;
    }

    /// <summary>
    /// Stores each protein whose id is not in the partition yet, marked <paramref name="batchKey"/>, and returns the ids
    /// the batch owns: the new ones, those an earlier try of the same batch stored, and those whose claim
    /// <paramref name="isAbandoned"/> says is dead (taken over; null: no claim is dead). Ids must be distinct.
    /// </summary>
    public async Task<string[]> ClaimAsync(string partitionKey, string batchKey, IReadOnlyList<IndexedProtein> proteins, Func<string, Task<bool>>? isAbandoned = null)
    {
        // One question per distinct claimant: re-indexing a file meets the same few earlier batches row after row.
        var verdicts = new Dictionary<string, Task<bool>>(StringComparer.Ordinal);
        Task<bool> Abandoned(string claim)
        {
            lock (verdicts)
            {
                if (!verdicts.TryGetValue(claim, out var verdict)) verdicts[claim] = verdict = isAbandoned?.Invoke(claim) ?? Task.FromResult(false);
                return verdict;
            }
        }

        // Encode (and refuse oversized records) before writing anything, so a bad record leaves no half-written batch.
        var entities = proteins.Select(p => ToEntity(partitionKey, batchKey, p)).ToList();
        var table = await TableAsync();
        var owned = new List<string>(proteins.Count);
        foreach (var group in TransactionGroups(entities))
        {
            try
            {
                await table.SubmitTransactionAsync(group.Select(e => new TableTransactionAction(TableTransactionActionType.Add, e.Entity)));
                owned.AddRange(group.Select(e => e.Id));
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409)
            {
                // Some ids exist (a retry of this batch, a re-index, a duplicate elsewhere in the file): row by row.
                var results = await Task.WhenAll(group.Select(e => ClaimOneAsync(table, batchKey, e.Entity, Abandoned)));
                owned.AddRange(group.Where((_, i) => results[i]).Select(e => e.Id));
            }
        }
        return [.. owned];
    }

    private static async Task<bool> ClaimOneAsync(TableClient table, string batchKey, TableEntity entity, Func<string, Task<bool>> isAbandoned)
    {
        while (true)
        {
            try
            {
                await table.AddEntityAsync(entity);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                var existing = await table.GetEntityIfExistsAsync<TableEntity>(entity.PartitionKey, entity.RowKey, ["Claim"]);
                if (!existing.HasValue) continue;   // released between our insert and our read: try the insert again
                var claim = existing.Value!.GetString("Claim");
                if (claim == batchKey) return true;
                if (claim is null || !await isAbandoned(claim)) return false;
                try
                {
                    await table.UpdateEntityAsync(entity, existing.Value.ETag, TableUpdateMode.Replace);
                    return true;
                }
                catch (RequestFailedException taken) when (taken.Status is 404 or 412)
                {
                    // Released or taken over by someone else meanwhile: look again.
                }
            }
        }
    }

    /// <summary>Deletes the rows of <paramref name="sequenceIds"/> that <paramref name="batchKey"/> stored; others stay.</summary>
    public async Task ReleaseAsync(string partitionKey, string batchKey, IEnumerable<string> sequenceIds)
    {
        var table = await TableAsync();
        await Task.WhenAll(sequenceIds.Distinct(StringComparer.Ordinal).Select(async id =>
        {
            var rowKey = RowKey(id);
            var row = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, ["Claim"]);
            if (!row.HasValue || row.Value!.GetString("Claim") != batchKey) return;
            try { await table.DeleteEntityAsync(partitionKey, rowKey, row.Value.ETag); }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412) { /* already gone or rewritten: not ours to delete */ }
        }));
    }

    /// <summary>The stored proteins among <paramref name="sequenceIds"/>, in the order given (unknown ids are left out).</summary>
    public async Task<IndexedProtein[]> GetAsync(string partitionKey, IReadOnlyList<string> sequenceIds)
    {
        var table = await TableAsync();
        var rows = await Task.WhenAll(sequenceIds.Distinct(StringComparer.Ordinal).Select(id =>
            table.GetEntityIfExistsAsync<TableEntity>(partitionKey, RowKey(id))));
        return [.. rows.Where(r => r.HasValue).Select(r => FromEntity(r.Value!))];
    }

    /// <summary>Rows in the partition. Reads every row key of the partition: for tools and tests, not for request paths.</summary>
    public async Task<int> CountAsync(string partitionKey)
    {
        var table = await TableAsync();
        var count = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(e => e.PartitionKey == partitionKey, select: ["RowKey"])) count++;
        return count;
    }

    /// <summary>The first <paramref name="count"/> proteins in RowKey order, i.e. the smallest id hashes: a deterministic sample read in one page.</summary>
    public async Task<IndexedProtein[]> SampleAsync(string partitionKey, int count)
    {
        if (count <= 0) return [];
        var table = await TableAsync();
        var sample = new List<IndexedProtein>(count);
        await foreach (var page in table.QueryAsync<TableEntity>(e => e.PartitionKey == partitionKey, maxPerPage: Math.Min(count, 1000)).AsPages())
        {
            foreach (var row in page.Values)
            {
                sample.Add(FromEntity(row));
                if (sample.Count == count) return [.. sample];
            }
        }
        return [.. sample];
    }

    private sealed record Encoded(string Id, TableEntity Entity, int Bytes);

    private static Encoded ToEntity(string partitionKey, string batchKey, IndexedProtein protein)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            JsonSerializer.Serialize(gzip, protein, Json);
        if (buffer.Length > MaxStoredBytes)
            throw new ArgumentException($"Protein record '{protein.Id}' is too large to store in the corpus: {buffer.Length} bytes compressed " +
                $"(sequence of {protein.Sequence.Length} residues, {protein.Annotations.Length} annotations); the limit is {MaxStoredBytes} bytes.");
        var payload = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var entity = new TableEntity(partitionKey, RowKey(protein.Id)) { ["Claim"] = batchKey };
        for (var i = 0; i * ChunkBytes < payload.Length; i++)
            entity[$"P{i}"] = payload.Slice(i * ChunkBytes, Math.Min(ChunkBytes, payload.Length - i * ChunkBytes)).ToArray();
        return new Encoded(protein.Id, entity, payload.Length + batchKey.Length * 2 + 256);
    }

    private static IndexedProtein FromEntity(TableEntity entity)
    {
        using var payload = new MemoryStream();
        for (var i = 0; entity.GetBinary($"P{i}") is { } chunk; i++) payload.Write(chunk);
        payload.Position = 0;
        using var gzip = new GZipStream(payload, CompressionMode.Decompress);
        return JsonSerializer.Deserialize<IndexedProtein>(gzip, Json)
            ?? throw new InvalidDataException($"Corpus row {entity.PartitionKey}/{entity.RowKey} holds no protein.");
    }

    /// <summary>Entity-group transactions within the service's limits (100 actions, 4 MiB).</summary>
    private static IEnumerable<List<Encoded>> TransactionGroups(List<Encoded> entities)
    {
        var group = new List<Encoded>();
        var bytes = 0;
        foreach (var e in entities)
        {
            if (group.Count > 0 && (group.Count == MaxTransactionActions || bytes + e.Bytes > MaxTransactionBytes))
            {
                yield return group;
                group = [];
                bytes = 0;
            }
            group.Add(e);
            bytes += e.Bytes;
        }
        if (group.Count > 0) yield return group;
    }
}
