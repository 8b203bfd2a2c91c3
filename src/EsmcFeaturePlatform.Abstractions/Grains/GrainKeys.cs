using System.Globalization;

namespace EsmcFeaturePlatform.Abstractions.Grains;

/// <summary>
/// The string keys of the grains keyed by more than one value, each written by its <c>Format</c> and read back by its
/// <c>Parse</c>, so no grain or caller cuts a key apart by hand. Persisted grain state is stored under these keys (and
/// corpus rows carry <see cref="CorpusClaim"/>): a format must never change, or stored state is orphaned.
/// </summary>
/// <remarks>
/// SAE ids are <c>REPO/layerN</c>: they never hold '#' (the search index refuses such ids, FeatureIndexSchema), but
/// may hold '|' or ':', so keys that start with an SAE id are cut at the LAST separator.
/// </remarks>
public static class GrainKeys
{
    /// <summary>A feature grain (and the feature's search-document id): <c>SAE#INDEX</c>.</summary>
    public static class Feature
    {
        /// <summary>The key of <paramref name="feature"/>'s grain.</summary>
        public static string Format(FeatureKey feature) => $"{feature.SaeId}#{feature.Index.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>The feature a key names; a <see cref="FormatException"/> naming the form for anything else.</summary>
        public static FeatureKey Parse(string key)
        {
            var hash = LastSeparator(key, '#');
            if (hash <= 0 || !TryParseNumber(key.AsSpan(hash + 1), out var index))
                throw Malformed(key, "feature", "SAE#INDEX");
            return new FeatureKey(key[..hash], index);
        }
    }

    /// <summary>A feature page grain (<see cref="FeaturePages"/>): <c>SAE#page-N</c>.</summary>
    public static class FeaturePage
    {
        private const string Separator = "#page-";

        /// <summary>The key of page <paramref name="page"/> of <paramref name="saeId"/>'s features.</summary>
        public static string Format(string saeId, int page) => $"{saeId}{Separator}{page.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>The SAE and page a key names; a <see cref="FormatException"/> naming the form for anything else.</summary>
        public static (string SaeId, int Page) Parse(string key)
        {
            var at = key.LastIndexOf(Separator, StringComparison.Ordinal);
            if (at <= 0 || !TryParseNumber(key.AsSpan(at + Separator.Length), out var page))
                throw Malformed(key, "feature page", "SAE#page-N");
            return (key[..at], page);
        }
    }

    /// <summary>A corpus shard grain (<see cref="CorpusSharding"/>): <c>SAE|SHARD</c>.</summary>
    public static class CorpusShard
    {
        /// <summary>The key of shard <paramref name="shard"/> of <paramref name="saeId"/>'s corpus.</summary>
        public static string Format(string saeId, int shard) => $"{saeId}|{shard.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>The SAE and shard a key names; a <see cref="FormatException"/> naming the form for anything else.</summary>
        public static (string SaeId, int Shard) Parse(string key)
        {
            var bar = LastSeparator(key, '|');
            if (bar <= 0 || !TryParseNumber(key.AsSpan(bar + 1), out var shard))
                throw Malformed(key, "corpus shard", "SAE|SHARD");
            return (key[..bar], shard);
        }
    }

    /// <summary>An analysis grain: <c>SAE|SHA256</c>, the upper-case hex SHA-256 of the sequence's UTF-8 bytes.</summary>
    public static class Analysis
    {
        private const int HashLength = 64;
        private static readonly System.Buffers.SearchValues<char> UpperHexDigits = System.Buffers.SearchValues.Create("0123456789ABCDEF");

        /// <summary>The key of the analysis of <paramref name="sequence"/> under <paramref name="saeId"/>.</summary>
        public static string Format(string saeId, string sequence) =>
            $"{saeId}|{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sequence)))}";

        /// <summary>The SAE and sequence hash a key names; a <see cref="FormatException"/> naming the form for anything else.</summary>
        public static (string SaeId, string SequenceHash) Parse(string key)
        {
            var bar = LastSeparator(key, '|');
            if (bar <= 0 || key.Length - bar - 1 != HashLength || key.AsSpan(bar + 1).ContainsAnyExcept(UpperHexDigits))
                throw Malformed(key, "analysis", "SAE|SHA256 (64 hex digits)");
            return (key[..bar], key[(bar + 1)..]);
        }
    }

    /// <summary>
    /// A silo's inference worker for one model: <c>SILO|MODEL</c>, the silo as <see cref="SiloAddress.ToParsableString"/>
    /// writes it (which holds no '|'), so the key is cut at the FIRST separator and the placement director can find the silo.
    /// </summary>
    public static class InferenceWorker
    {
        /// <summary>The key of <paramref name="silo"/>'s worker for <paramref name="model"/>.</summary>
        public static string Format(SiloAddress silo, string model) => $"{silo.ToParsableString()}|{model}";

        /// <summary>The silo and model a key names; a <see cref="FormatException"/> naming the form for anything else.</summary>
        public static (SiloAddress Silo, string Model) Parse(string key) =>
            TryParse(key, out var silo, out var model) ? (silo, model) : throw Malformed(key, "inference worker", "SILO|MODEL");

        /// <summary>The silo and model a key names, or false (the placement director then places the grain locally).</summary>
        public static bool TryParse(string? key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SiloAddress? silo, out string model)
        {
            silo = null;
            model = "";
            var bar = key?.IndexOf('|', StringComparison.Ordinal) ?? -1;
            if (bar <= 0) return false;
            try { silo = SiloAddress.FromParsableString(key![..bar]); }
            catch (FormatException) { return false; }
            model = key![(bar + 1)..];
            return true;
        }
    }

    /// <summary>
    /// Not a grain key but the mark a corpus row carries for the indexing batch that claimed it: <c>JOB:BATCH</c>
    /// (stored with every corpus row, so it is as fixed as the grain keys).
    /// </summary>
    public static class CorpusClaim
    {
        /// <summary>The mark of batch <paramref name="batchNumber"/> of job <paramref name="jobId"/>.</summary>
        public static string Format(string jobId, int batchNumber) => $"{jobId}:{batchNumber.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>The claim's job and batch, or null when the mark is not one (rows written by something else).</summary>
        public static (string JobId, int BatchNumber)? TryParse(string? claim)
        {
            var colon = claim?.LastIndexOf(':') ?? -1;
            return colon > 0 && TryParseNumber(claim.AsSpan(colon + 1), out var batch) ? (claim![..colon], batch) : null;
        }
    }

    private static int LastSeparator(string key, char separator) => key.LastIndexOf(separator);

    /// <summary>Digits only: no sign, spaces or culture, so every number has exactly one spelling in a key.</summary>
    private static bool TryParseNumber(ReadOnlySpan<char> digits, out int value) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static FormatException Malformed(string key, string kind, string form) =>
        new($"{InputExcerpt.Quote(key, 120)} is not a {kind} grain key of the form {form}.");
}
