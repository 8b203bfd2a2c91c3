using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using EsmcFeaturePlatform.Abstractions.Files;
using Xunit;

namespace EsmcFeaturePlatform.Server.Tests;

/// <summary>
/// Issue 15: the server reads no file outside its roots. The rule itself on real files (links, a FIFO, devices,
/// /proc, sizes), then the mutations that name files, over HTTP.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ServerFilesTests(PlatformFactory platform) : IClassFixture<PlatformFactory>, IDisposable
{
    private const string Sae = TestEnvironment.SaeWithRealStats;
    private readonly string _root = Directory.CreateDirectory(Path.Combine(TestEnvironment.CorpusRoot, "rule-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private ServerFileRule Rule(long maxFileBytes = 1L << 30) => new(new ServerFileOptions { Roots = [_root], MaxFileBytes = maxFileBytes });

    [Fact]
    public void Paths_outside_the_roots_are_refused_as_written_and_once_links_are_resolved()
    {
        var rule = Rule();
        File.WriteAllText(Path.Combine(_root, "ok.fasta"), ">a\nMKT\n");
        Assert.Equal(Path.Combine(_root, "ok.fasta"), rule.Resolve("ok.fasta"));   // relative to the first root
        Assert.Equal(Path.Combine(_root, "ok.fasta"), rule.Resolve(Path.Combine(_root, "ok.fasta")));

        File.CreateSymbolicLink(Path.Combine(_root, "hostname.fasta"), "/etc/hostname");
        Directory.CreateSymbolicLink(Path.Combine(_root, "etc"), "/etc");
        foreach (var path in new[] { "/etc/shadow", "/etc/hostname", "../../../../etc/hostname", Path.Combine(_root, "..", "x.fasta"),
                     "/proc/self/maps", "/dev/zero", "hostname.fasta", "etc/hostname" })
        {
            var refused = Assert.Throws<ServerFileException>(() => rule.Resolve(path));
            Assert.Contains("outside the folders the server reads from", refused.Message);
        }
        Assert.Contains("does not exist", Assert.Throws<ServerFileException>(() => rule.Resolve("missing.fasta")).Message);
    }

    [Fact]
    public void Only_regular_files_within_the_size_limit_are_opened()
    {
        var fifo = Path.Combine(_root, "pipe.fasta");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        // Before: opening the FIFO blocked the job (and every job(id) query) forever.
        Assert.Contains("a FIFO", Assert.Throws<ServerFileException>(() => Rule().OpenRead(fifo)).Message);
        Directory.CreateDirectory(Path.Combine(_root, "folder"));
        Assert.Contains("a directory", Assert.Throws<ServerFileException>(() => Rule().OpenRead("folder")).Message);

        // A sparse 2 GB file: refused from its size alone, before a byte is read.
        var sparse = Path.Combine(_root, "sparse.fasta");
        using (var stream = File.Create(sparse)) stream.SetLength(2L << 30);
        Assert.Contains("the limit is", Assert.Throws<ServerFileException>(() => Rule(maxFileBytes: 1L << 30).OpenRead(sparse)).Message);

        // Devices and /proc stay refused even under a root that holds them.
        var devices = new ServerFileRule(new ServerFileOptions { Roots = ["/dev"] });
        Assert.Contains("system folder", Assert.Throws<ServerFileException>(() => devices.OpenRead("/dev/zero")).Message);
        var proc = new ServerFileRule(new ServerFileOptions { Roots = ["/proc/self"] });
        Assert.Contains("system folder", Assert.Throws<ServerFileException>(() => proc.OpenRead("maps")).Message);

        File.WriteAllText(Path.Combine(_root, "ok.fasta"), ">a\nMKT\n");
        using var reader = new StreamReader(Rule().OpenRead("ok.fasta"));
        Assert.Equal(">a", reader.ReadLine());
    }

    [Fact]
    public async Task IndexCorpus_and_importNormalizationStats_refuse_files_outside_the_roots_without_quoting_them()
    {
        // Before: both read any path, and the job's error quoted the file's first 40 characters.
        var link = Path.Combine(TestEnvironment.CorpusRoot, $"passwd-{Guid.NewGuid():N}.fasta");
        File.CreateSymbolicLink(link, "/etc/passwd");
        try
        {
            foreach (var path in new[] { "/etc/passwd", "../../../../../etc/passwd", "/proc/self/maps", link })
            {
                var (_, index) = await platform.PostAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p) { id } }", new { p = path }, PlatformFactory.AdminKey);
                Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(index));
                Assert.Contains("outside the folders the server reads from", PlatformFactory.ErrorMessage(index));
                Assert.DoesNotContain("root:", index.ToJsonString());
                var (_, import) = await platform.PostAsync("mutation($p: String!) { importNormalizationStats(sae: \"" + Sae + "\", path: $p) { id } }", new { p = path }, PlatformFactory.AdminKey);
                Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(import));
                Assert.DoesNotContain("root:", import.ToJsonString());
            }
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Fact]
    public async Task A_FIFO_and_a_file_of_zeros_end_as_clear_failures_not_a_hang_or_out_of_memory()
    {
        var fifo = Path.Combine(TestEnvironment.CorpusRoot, $"pipe-{Guid.NewGuid():N}.fasta");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var zeros = Path.Combine(TestEnvironment.CorpusRoot, $"zeros-{Guid.NewGuid():N}.fasta");
        using (var stream = File.Create(zeros)) stream.SetLength(2L << 30);   // sparse: 2 GB of zeros, no line break
        try
        {
            var (_, piped) = await platform.PostAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p) { id } }", new { p = fifo }, PlatformFactory.AdminKey);
            Assert.Equal("BAD_USER_INPUT", PlatformFactory.ErrorCode(piped));
            Assert.Contains("FIFO", PlatformFactory.ErrorMessage(piped));

            // Before: the whole file was read as one line until memory ran out.
            var job = (await platform.DataAsync("mutation($p: String!) { indexCorpus(sae: \"" + Sae + "\", fastaPath: $p) { id } }", new { p = zeros }, PlatformFactory.AdminKey))["indexCorpus"]!;
            var id = job["id"]!.GetValue<string>();
            await ApiTestHelpers.WaitForJobAsync(platform, id);
            var done = (await platform.DataAsync("query($id: ID!) { job(id: $id) { status error } }", new { id }, PlatformFactory.AdminKey))["job"]!;
            Assert.Equal("FAILED", done["status"]!.GetValue<string>());
            Assert.Contains("a line is longer than", done["error"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(fifo);
            File.Delete(zeros);
        }
    }

    [Fact]
    public async Task An_admin_uploads_a_corpus_into_the_root_and_indexes_it_by_name()
    {
        var (path, records) = TestEnvironment.WriteCorpus(6, seed: 15);
        var bytes = await File.ReadAllBytesAsync(path);
        var name = $"uploaded-{Guid.NewGuid():N}.fasta";
        var client = platform.CreateClient();

        async Task<HttpResponseMessage> PutAsync(string target, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/corpora/" + target) { Content = new ByteArrayContent(bytes) };
            if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return await client.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(name, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(name, PlatformFactory.CuratorKey)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutAsync("..hidden", PlatformFactory.AdminKey)).StatusCode);
        var created = await PutAsync(name, PlatformFactory.AdminKey);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(TestEnvironment.CorpusRoot, name)));
        Assert.Equal(HttpStatusCode.Conflict, (await PutAsync(name, PlatformFactory.AdminKey)).StatusCode);

        var done = await ApiTestHelpers.IndexAsync(platform, TestEnvironment.SaeWithPlaceholderStats, name);
        Assert.Equal(records.Count, done["total"]!.GetValue<int>());
        File.Delete(Path.Combine(TestEnvironment.CorpusRoot, name));
    }
}
