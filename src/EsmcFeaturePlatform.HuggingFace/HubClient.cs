using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace EsmcFeaturePlatform.HuggingFace;

/// <summary>What a pull did.</summary>
public sealed record HubPullResult(string LocalDirectory, string Commit, int Downloaded, int UpToDate, long BytesReceived);

/// <summary>
/// Downloads a repository (or the files of it that include patterns select) into a folder with exactly the layout
/// <c>huggingface-cli download REPO --local-dir DIR</c> leaves: each file at DIR/PATH, and beside them
/// <c>DIR/.cache/huggingface/download/PATH.metadata</c> (commit, etag, time) plus the partial download
/// <c>PATH.{etag}.incomplete</c> there, so either tool can continue or verify what the other began.
/// <list type="bullet">
/// <item>Listing: <c>GET /api/{models|datasets}/{repo}/revision/{rev}?blobs=true</c> (sizes, blob ids, LFS SHA-256).</item>
/// <item>Files: <c>GET /[datasets/]{repo}/resolve/{rev}/{path}</c>, redirects followed by hand so that the token
/// goes only to the Hub's own host, never to the CDN host an LFS file redirects to.</item>
/// <item>Resumable: a partial file is continued with <c>Range: bytes=N-</c>; a server answering 200 instead starts it over.</item>
/// <item>Verified: an LFS file's SHA-256, any other file's git blob id, are checked before the file is renamed into
/// place (atomic: a reader never sees half a file); a mismatch deletes the partial file and names the file.</item>
/// <item>Files already present with the listed etag are skipped, so a second pull downloads nothing.</item>
/// </list>
/// </summary>
public sealed class HubClient : IDisposable
{
    public const int DefaultParallelDownloads = 4;
    private const int MaxRedirects = 10;
    private const int BufferBytes = 1 << 20;

    /// <summary>How long a download may receive nothing before it is given up (and can be resumed).</summary>
    public static readonly TimeSpan DefaultReadStall = TimeSpan.FromSeconds(60);

    private readonly HubSettings settings;
    private readonly HttpClient http;
    private readonly Func<string, long?> freeBytes;
    private readonly TimeSpan readStall;

    /// <param name="settings">The Hub endpoint, the token and whether to stay offline.</param>
    /// <param name="freeBytes">Free bytes on the disk holding a folder (null: unknown); replaceable so the disk-space check can be tested.</param>
    /// <param name="readStall">A download that receives nothing this long fails (resumably) instead of hanging; default <see cref="DefaultReadStall"/>.</param>
    public HubClient(HubSettings settings, Func<string, long?>? freeBytes = null, TimeSpan? readStall = null)
    {
        this.settings = settings;
        this.freeBytes = freeBytes ?? FreeBytes;
        this.readStall = readStall ?? DefaultReadStall;
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(20),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("esmc-feature-platform", "1.0"));
    }

    public HubSettings Settings => settings;

    public void Dispose() => http.Dispose();

    /// <summary>The repository's files at the revision, and the commit the revision points at.</summary>
    public async Task<HubListing> ListAsync(HubRepository repository, CancellationToken ct)
    {
        if (settings.Offline)
            throw new HubException($"{HubSettings.OfflineVariable} is set: the Hub cannot be asked for {repository}; unset it to go online");
        using var response = await SendAsync(repository, repository.ListingUrl(settings.Endpoint), null, null, ct).ConfigureAwait(false);
        return HubListing.Parse(repository, await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
    }

    /// <summary>Pulls the files of <paramref name="repository"/> that <paramref name="include"/> selects into <paramref name="localDirectory"/>.</summary>
    public async Task<HubPullResult> PullAsync(
        HubRepository repository, string localDirectory, HubGlob include, IHubProgress progress, int parallelDownloads, CancellationToken ct)
    {
        localDirectory = Path.GetFullPath(localDirectory);
        if (settings.Offline) return Offline(repository, localDirectory, include, progress);

        var listing = await ListAsync(repository, ct).ConfigureAwait(false);
        var selected = listing.Files.Where(f => include.Selects(f.Path)).ToList();
        if (selected.Count == 0)
            throw new HubException($"no file of {repository} matches the include patterns; the repository holds: {Preview(listing.Files.Select(f => f.Path))}");
        foreach (var file in selected) LocalPaths.Check(repository, file.Path);

        Directory.CreateDirectory(localDirectory);
        var pending = new List<HubFile>();
        var upToDate = 0;
        foreach (var file in selected)
        {
            if (await IsUpToDateAsync(listing, localDirectory, file, ct).ConfigureAwait(false)) upToDate++;
            else pending.Add(file);
        }
        var needed = pending.Sum(f => Math.Max(0, f.Size - LocalPaths.For(localDirectory, f).PartialLength()));
        progress.Planned(listing, pending, needed, upToDate);
        CheckDiskSpace(localDirectory, needed);

        long received = 0;
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var slots = new SemaphoreSlim(Math.Clamp(parallelDownloads, 1, 16));
        var tasks = pending.Select(async file =>
        {
            await slots.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                var bytes = await DownloadAsync(listing, localDirectory, file, progress, failed.Token).ConfigureAwait(false);
                Interlocked.Add(ref received, bytes);
            }
            catch
            {
                // The first failure stops the other downloads (their partial files stay for the next pull).
                await failed.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch when (!ct.IsCancellationRequested)
        {
            // Report the failure that caused the others to stop, not their cancellations.
            var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault();
            if (first is not null) throw first;
            throw;
        }
        return new HubPullResult(localDirectory, listing.Commit, pending.Count, upToDate, received);
    }

    private static HubPullResult Offline(HubRepository repository, string localDirectory, HubGlob include, IHubProgress progress)
    {
        var metadataRoot = LocalPaths.MetadataRoot(localDirectory);
        var present = Directory.Exists(metadataRoot)
            ? Directory.EnumerateFiles(metadataRoot, "*.metadata", SearchOption.AllDirectories)
                .Select(m => Path.GetRelativePath(metadataRoot, m)[..^".metadata".Length].Replace(Path.DirectorySeparatorChar, '/'))
                .Where(p => include.Selects(p) && File.Exists(Path.Combine(localDirectory, p)))
                .ToList()
            : [];
        if (present.Count == 0)
            throw new HubException($"{HubSettings.OfflineVariable} is set and nothing of {repository} matching the include patterns has been downloaded into {localDirectory}; unset {HubSettings.OfflineVariable} to download it");
        progress.Note($"{HubSettings.OfflineVariable} is set: using the {present.Count} file(s) already in {localDirectory} without asking the Hub");
        return new HubPullResult(localDirectory, "", 0, present.Count, 0);
    }

    private void CheckDiskSpace(string localDirectory, long needed)
    {
        if (freeBytes(localDirectory) is { } free && free < needed)
            throw new HubException($"not enough disk space for the download into {localDirectory}: {Size(needed)} needed, {Size(free)} free; free some space or pull into another --root");
    }

    private static async Task<bool> IsUpToDateAsync(HubListing listing, string localDirectory, HubFile file, CancellationToken ct)
    {
        var paths = LocalPaths.For(localDirectory, file);
        var target = new FileInfo(paths.Target);
        if (!target.Exists || (file.Size >= 0 && target.Length != file.Size)) return false;
        if (paths.ReadMetadataEtag() is { } etag && etag == file.Etag && File.GetLastWriteTimeUtc(paths.Metadata) >= target.LastWriteTimeUtc.AddSeconds(-1))
            return true;
        // A file with no (or stale) metadata, e.g. copied in by hand: keep it if its content is the listed one.
        if (file.Etag is null || !await Verification.MatchesAsync(paths.Target, file, ct).ConfigureAwait(false)) return false;
        paths.WriteMetadata(listing.Commit, file.Etag);
        return true;
    }

    private async Task<long> DownloadAsync(HubListing listing, string localDirectory, HubFile file, IHubProgress progress, CancellationToken ct)
    {
        var repository = listing.Repository;
        var paths = LocalPaths.For(localDirectory, file);
        Directory.CreateDirectory(Path.GetDirectoryName(paths.Target)!);
        Directory.CreateDirectory(Path.GetDirectoryName(paths.Incomplete)!);
        var offset = paths.PartialLength();
        if (file.Size >= 0 && offset > file.Size)
        {
            File.Delete(paths.Incomplete);
            offset = 0;
        }
        // Download from the commit the listing named, so every file comes from the same snapshot even if the branch moves.
        var atCommit = repository with { Revision = listing.Commit };
        long received = 0;
        if (file.Size < 0 || offset < file.Size)
        {
            if (offset > 0) progress.Resuming(file, offset);
            using var response = await SendAsync(repository, atCommit.ResolveUrl(settings.Endpoint, file.Path), file, offset > 0 ? offset : null, ct).ConfigureAwait(false);
            if (offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
            {
                progress.Note($"{file.Path}: the server ignored the range request; downloading it from the start");
                offset = 0;
            }
            // Each read must bring something within readStall: a connection that stays open but sends nothing fails
            // (resumably) instead of hanging the pull.
            using var stalled = CancellationTokenSource.CreateLinkedTokenSource(ct);
            try
            {
                await using var output = new FileStream(paths.Incomplete, offset > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes, useAsync: true);
                await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                var buffer = new byte[BufferBytes];
                int read;
                while (true)
                {
                    stalled.CancelAfter(readStall);
                    if ((read = await body.ReadAsync(buffer, stalled.Token).ConfigureAwait(false)) == 0) break;
                    await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    received += read;
                    progress.Received(file, read);
                }
            }
            catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
            {
                throw new HubException($"the download of '{file.Path}' from {repository} received nothing for {readStall.TotalSeconds:F0} s after {Size(offset + received)} of {Size(file.Size)}; run the pull again to resume from there", ex);
            }
            catch (Exception ex) when (IsBrokenConnection(ex) && !ct.IsCancellationRequested)
            {
                throw new HubException($"the download of '{file.Path}' from {repository} broke off after {Size(offset + received)} of {Size(file.Size)} ({ex.Message}); run the pull again to resume from there", ex);
            }
            catch (IOException ex) when (IsDiskFull(ex))
            {
                throw new HubException($"the disk is full: '{file.Path}' of {repository} stopped at {Size(offset + received)} of {Size(file.Size)} in {paths.Incomplete}; free some space and pull again to resume", ex);
            }
        }

        var length = new FileInfo(paths.Incomplete).Length;
        if (file.Size >= 0 && length != file.Size)
        {
            // A body shorter or longer than listed without a connection error: not the listed file. Start over next time.
            File.Delete(paths.Incomplete);
            throw new HubException($"'{file.Path}' of {repository} arrived with {length} bytes but the Hub lists {file.Size}; the partial file was deleted, pull again");
        }
        if (!await Verification.MatchesAsync(paths.Incomplete, file, ct).ConfigureAwait(false))
        {
            File.Delete(paths.Incomplete);
            var what = file.Sha256 is not null ? $"SHA-256 {file.Sha256}" : $"git blob id {file.BlobId}";
            throw new HubException($"'{file.Path}' of {repository} is corrupt: its content does not match the listed {what}; the partial download was deleted, pull again (a repeated mismatch means a broken mirror or proxy)");
        }
        File.Move(paths.Incomplete, paths.Target, overwrite: true);
        if (file.Etag is not null) paths.WriteMetadata(listing.Commit, file.Etag);
        progress.Completed(file);
        return received;
    }

    /// <summary>Sends a GET, following redirects by hand (the token only to the Hub's own host), and turns refusals into clear errors.</summary>
    private async Task<HttpResponseMessage> SendAsync(HubRepository repository, Uri url, HubFile? file, long? rangeStart, CancellationToken ct)
    {
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            // The Hub's own host gets the token; a CDN or storage host a redirect points at must not (huggingface_hub
            // and requests drop it there too), since a leaked token would give that host the user's access.
            if (settings.Token is not null && SameAuthority(url, settings.Endpoint))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.Token);
            if (rangeStart is { } start) request.Headers.Range = new RangeHeaderValue(start, null);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (!ct.IsCancellationRequested)
            {
                var why = ex.InnerException is SocketException socket ? socket.Message : ex.Message;
                throw new HubException($"cannot reach {url.GetLeftPart(UriPartial.Authority)} for {repository}: {why} (set {HubSettings.EndpointVariable} for a mirror, or {HubSettings.OfflineVariable}=1 to use what is already downloaded)", ex);
            }
            catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
            {
                throw new HubException($"cannot reach {url.GetLeftPart(UriPartial.Authority)} for {repository}: no connection within the connect timeout", ex);
            }
            if (response.IsSuccessStatusCode) return response;
            using (response)
            {
                var status = (int)response.StatusCode;
                if (status is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    if (hop >= MaxRedirects) throw new HubException($"too many redirects for {url} ({repository})");
                    url = location.IsAbsoluteUri ? location : new Uri(url, location);
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && file is not null)
                    throw new HubException($"the Hub refused to resume '{file.Path}' of {repository} (416); delete the .incomplete file under .cache/huggingface/download and pull again");
                throw await RefusalAsync(repository, file, response).ConfigureAwait(false);
            }
        }
    }

    private async Task<HubException> RefusalAsync(HubRepository repository, HubFile? file, HttpResponseMessage response)
    {
        var code = Header(response, "X-Error-Code");
        var message = Header(response, "X-Error-Message");
        if (message is null)
        {
            var body = (await response.Content.ReadAsStringAsync().ConfigureAwait(false)).Trim();
            message = body.Length == 0 ? null : body.Length <= 200 ? body : body[..200] + "...";
        }
        var said = message is null ? "" : $" (the Hub says: {message})";
        var tokenHint = settings.Token is null
            ? $"pass a token with --token or the {HubSettings.TokenVariable} environment variable (create one at {settings.Endpoint}settings/tokens)"
            : "the token given was refused: check it (--token or " + HubSettings.TokenVariable + ") and that its account may read the repository";
        return (int)response.StatusCode switch
        {
            401 => new HubException($"the Hub answered 401 Unauthorized for {repository}{said}: the repository is private or gated (or does not exist); {tokenHint}"),
            403 when code == "GatedRepo" || settings.Token is not null =>
                new HubException($"the Hub answered 403 Forbidden for {repository}{said}: the repository is gated; accept its conditions at {settings.Endpoint}{(repository.Type == HubRepoType.Dataset ? "datasets/" : "")}{repository.Id} with the account of your token, then pull again"),
            403 => new HubException($"the Hub answered 403 Forbidden for {repository}{said}; {tokenHint}"),
            404 when code == "RevisionNotFound" => new HubException($"revision '{repository.Revision}' does not exist in {repository.Kind} {repository.Id}{said}; check --revision (a branch, tag or commit)"),
            404 when code == "EntryNotFound" && file is not null => new HubException($"'{file.Path}' is not in {repository}{said}"),
            404 => new HubException($"{repository.Kind} '{repository.Id}' at revision '{repository.Revision}' was not found on {settings.Endpoint}{said}; check the name, --revision and --repo-type (model or dataset)"),
            429 => new HubException($"the Hub is rate limiting requests for {repository} (429){said}; wait and pull again (what is downloaded is kept)"),
            var status => new HubException($"the Hub answered {status} ({response.ReasonPhrase}) for {(file is null ? "the listing of" : $"'{file.Path}' of")} {repository}{said}"),
        };
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static bool SameAuthority(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    private static bool IsBrokenConnection(Exception ex) =>
        ex is HttpIOException or HttpRequestException || ex is IOException { InnerException: SocketException or HttpIOException };

    // ENOSPC is 28 on Linux and macOS; ERROR_HANDLE_DISK_FULL (39) and ERROR_DISK_FULL (112) on Windows.
    private static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) is 28 or 39 or 112;

    private static long? FreeBytes(string folder)
    {
        try { return new DriveInfo(folder).AvailableFreeSpace; }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>A byte count for people (B, MiB, GiB).</summary>
    public static string Size(long bytes) => bytes switch
    {
        < 0 => "unknown size",
        < 1024 * 1024 => $"{bytes.ToString(CultureInfo.InvariantCulture)} B",
        < 1024L * 1024 * 1024 => $"{(bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture)} MiB",
        _ => $"{(bytes / 1073741824.0).ToString("F2", CultureInfo.InvariantCulture)} GiB",
    };

    private static string Preview(IEnumerable<string> paths)
    {
        var list = paths.Take(21).ToList();
        return list.Count == 0 ? "(no files)" : string.Join(", ", list.Take(20)) + (list.Count > 20 ? ", ..." : "");
    }

    /// <summary>Where one file and its metadata and partial download live in the local-dir layout.</summary>
    private sealed record LocalPaths(string Target, string Metadata, string Incomplete, string HuggingFaceFolder)
    {
        public static string MetadataRoot(string localDirectory) => Path.Combine(localDirectory, ".cache", "huggingface", "download");

        public static LocalPaths For(string localDirectory, HubFile file)
        {
            var relative = Path.Combine(file.Path.Split('/'));
            var metadata = Path.Combine(MetadataRoot(localDirectory), relative + ".metadata");
            // huggingface_hub: metadata_path.with_suffix(f".{etag}.incomplete"), i.e. PATH.{etag}.incomplete.
            var incomplete = Path.Combine(MetadataRoot(localDirectory), relative + "." + (file.Etag ?? "unknown") + ".incomplete");
            return new LocalPaths(Path.Combine(localDirectory, relative), metadata, incomplete, Path.Combine(localDirectory, ".cache", "huggingface"));
        }

        /// <summary>A listed path must stay inside the local folder (a hostile listing could name ../../something).</summary>
        public static void Check(HubRepository repository, string path)
        {
            if (path.Length == 0 || path.StartsWith('/') || path.Contains('\\') || path.Split('/').Any(p => p is "" or "." or "..") || path.StartsWith(".cache/", StringComparison.Ordinal))
                throw new HubException($"{repository} lists a file with an unsafe path '{path}'; refusing to write it");
        }

        public long PartialLength() => File.Exists(Incomplete) ? new FileInfo(Incomplete).Length : 0;

        public string? ReadMetadataEtag()
        {
            try
            {
                if (!File.Exists(Metadata)) return null;
                var lines = File.ReadAllLines(Metadata);
                return lines.Length >= 2 ? lines[1].Trim() : null;
            }
            catch (IOException) { return null; }
        }

        public void WriteMetadata(string commit, string etag)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Metadata)!);
            // huggingface_hub keeps a .gitignore of '*' in .cache/huggingface so the folder never lands in a git repo.
            var gitignore = Path.Combine(HuggingFaceFolder, ".gitignore");
            if (!File.Exists(gitignore)) File.WriteAllText(gitignore, "*");
            var seconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
            File.WriteAllText(Metadata, $"{commit}\n{etag}\n{seconds.ToString("F3", CultureInfo.InvariantCulture)}\n");
        }
    }

    /// <summary>The content checks: SHA-256 for LFS files, the git blob id (SHA-1 of "blob {size}\0" + content) for the others.</summary>
    private static class Verification
    {
        public static async Task<bool> MatchesAsync(string path, HubFile file, CancellationToken ct)
        {
            if (file.Sha256 is not null) return await HashAsync(path, SHA256.Create(), null, ct).ConfigureAwait(false) == file.Sha256;
            if (file.BlobId is not null)
            {
                var length = new FileInfo(path).Length;
                return await HashAsync(path, SHA1.Create(), Encoding.ASCII.GetBytes($"blob {length.ToString(CultureInfo.InvariantCulture)}\0"), ct).ConfigureAwait(false) == file.BlobId.ToLowerInvariant();
            }
            return true;
        }

        private static async Task<string> HashAsync(string path, HashAlgorithm algorithm, byte[]? prefix, CancellationToken ct)
        {
            using (algorithm)
            {
                if (prefix is not null) algorithm.TransformBlock(prefix, 0, prefix.Length, null, 0);
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes, useAsync: true);
                var buffer = new byte[BufferBytes];
                int read;
                while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0) algorithm.TransformBlock(buffer, 0, read, null, 0);
                algorithm.TransformFinalBlock([], 0, 0);
                return Convert.ToHexStringLower(algorithm.Hash!);
            }
        }
    }
}
