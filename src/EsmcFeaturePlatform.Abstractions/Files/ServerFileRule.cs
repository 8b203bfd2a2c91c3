using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EsmcFeaturePlatform.Abstractions.Files;

/// <summary>A file an API call named that the server will not read; the message is safe to show (no file contents).</summary>
public sealed class ServerFileException(string message) : IOException(message);

/// <summary>
/// THE rule for every file a request names (corpora, statistics, datasets): call <see cref="OpenRead"/> (or
/// <see cref="Resolve(string?, long?)"/> to check early) and read only what it returns. A path is read only when, with every symbolic
/// link resolved, it lies inside one of <see cref="ServerFileOptions.Roots"/> (a relative path is taken relative to the
/// first root), names a regular file (never a FIFO, a device, a directory or a /proc file) no larger than the limit,
/// and each read returns within <see cref="ServerFileOptions.ReadTimeout"/>. On Linux the file is opened without
/// blocking (a FIFO cannot hold the caller) and checked again through its open handle (a link swapped in between the
/// check and the open is caught). Errors name the path as an escaped excerpt and never quote the file.
/// </summary>
public sealed class ServerFileRule
{
    private readonly ServerFileOptions _options;

    /// <summary>Validates <paramref name="options"/> and creates the roots that do not exist yet.</summary>
    public ServerFileRule(ServerFileOptions options)
    {
        options.Validate();
        if (options.Roots.Length == 0) throw new ArgumentException($"{ServerFileOptions.SectionName}:Roots is empty: the host sets DataRoot/corpora by default.");
        _options = options;
        Roots = [.. options.Roots.Select(root =>
        {
            Directory.CreateDirectory(root);
            return WithSeparator(RealPath(Path.GetFullPath(root)) ?? Path.GetFullPath(root));
        })];
    }

    /// <summary>The settings the rule was made with.</summary>
    public ServerFileOptions Options => _options;

    /// <summary>The roots, resolved, each ending with a separator.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>Where uploads go: the first root.</summary>
    public string UploadRoot => Roots[0];

    /// <summary>The real path of the regular file <paramref name="path"/> names, or <see cref="ServerFileException"/> saying why not.</summary>
    public string Resolve(string? path, long? maxBytes = null) => Resolve(path, maxBytes, allowFolder: false);

    /// <summary>
    /// Like <see cref="Resolve(string?, long?)"/>, but a folder inside the roots is accepted too (a dataset of several files);
    /// its real path is returned, and whoever lists it reads only regular files that are not links.
    /// </summary>
    public string ResolveFileOrFolder(string? path) => Resolve(path, null, allowFolder: true);

    private string Resolve(string? path, long? maxBytes, bool allowFolder)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ServerFileException("The path is empty.");
        var shown = Quote(path);
        string full;
        try { full = Path.GetFullPath(path, Roots[0]); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ServerFileException($"{shown} is not a valid path.");
        }
        // Outside every root as written: refused without looking, so the answer says nothing about the file.
        if (!IsInsideRoots(full)) throw Outside(shown);
        var real = RealPath(full);
        if (real is null)
        {
            if (!File.Exists(full) && !Directory.Exists(full)) throw new ServerFileException($"{shown} does not exist in {RootList()}.");
            throw new ServerFileException($"{shown} cannot be resolved (a broken or looping link?).");
        }
        if (!IsInsideRoots(real)) throw Outside(shown, "once its links are resolved ");
        // /proc and /sys files claim to be regular files of size 0; no root should hold them, and none is read.
        if (SystemFolders.Any(folder => real.StartsWith(folder, StringComparison.Ordinal)))
            throw new ServerFileException($"{shown} is in a system folder ({string.Join(", ", SystemFolders)}); such files are never read.");
        if (allowFolder && Directory.Exists(real)) return real;
        CheckKind(Stat.OfPath(real), shown, maxBytes);
        return real;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading under the rule (see the class summary); reads past
    /// <see cref="ServerFileOptions.ReadTimeout"/> throw <see cref="ServerFileException"/>.
    /// </summary>
    public Stream OpenRead(string? path, long? maxBytes = null)
    {
        var real = Resolve(path, maxBytes);
        var shown = Quote(path!);
        FileStream stream;
        if (OperatingSystem.IsLinux())
        {
            var fd = Posix.open(real, Posix.O_RDONLY | Posix.O_NONBLOCK | Posix.O_CLOEXEC);
            if (fd < 0) throw new ServerFileException($"{shown} cannot be opened (errno {Marshal.GetLastPInvokeError()}).");
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            try
            {
                // Checked again on what was opened: the path could have been swapped for a link or a FIFO meanwhile.
                CheckKind(Stat.OfDescriptor(fd), shown, maxBytes);
                var opened = RealPath($"/proc/self/fd/{fd}");
                if (opened is null || !IsInsideRoots(opened)) throw Outside(shown, "once its links are resolved ");
                stream = new FileStream(handle, FileAccess.Read, 1 << 16, isAsync: false);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        else
        {
            stream = new FileStream(real, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        }
        return new TimedReadStream(stream, _options.ReadTimeout, shown);
    }

    /// <summary>
    /// The file name an upload may create in <see cref="UploadRoot"/>: letters, digits, '.', '_', '-' (no folders, no
    /// leading dot), at most 200 characters.
    /// </summary>
    public string UploadPath(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200 || name[0] == '.'
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ServerFileException($"Corpus name {Quote(name ?? "")} must be 1-200 letters, digits, '.', '_' or '-', not starting with '.'.");
        return Path.Combine(UploadRoot, name);
    }

    private static readonly string[] SystemFolders = OperatingSystem.IsLinux() ? ["/proc/", "/sys/", "/dev/"] : [];

    private void CheckKind(Stat stat, string shown, long? maxBytes)
    {
        if (stat.Error != 0) throw new ServerFileException($"{shown} cannot be examined (errno {stat.Error}).");
        if (!stat.IsRegularFile)
            throw new ServerFileException($"{shown} is not a regular file ({stat.KindName}); only regular files are read.");
        var limit = Math.Min(maxBytes ?? long.MaxValue, _options.MaxFileBytes);
        if (stat.Size > limit) throw new ServerFileException($"{shown} is {stat.Size:N0} bytes; the limit is {limit:N0}.");
    }

    private bool IsInsideRoots(string path)
    {
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return Roots.Any(root => path.StartsWith(root, comparison) && path.Length > root.Length);
    }

    private ServerFileException Outside(string shown, string how = "") =>
        new($"{shown} is {how}outside the folders the server reads from ({RootList()}, setting {ServerFileOptions.SectionName}:Roots). Put the file there or upload it (POST /api/v1/corpora/NAME).");

    private string RootList() => string.Join(", ", Roots.Select(r => r.TrimEnd(Path.DirectorySeparatorChar)));

    private static string WithSeparator(string path) => path.EndsWith(Path.DirectorySeparatorChar) ? path : path + Path.DirectorySeparatorChar;

    /// <summary>A path as error messages show it: at most 120 characters, escaped (<see cref="InputExcerpt"/>).</summary>
    public static string Quote(string text) => InputExcerpt.Quote(text, 120);

    /// <summary>The path with every link resolved, or null when it does not exist (realpath(3); elsewhere: .NET's link resolution).</summary>
    private static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            if (!File.Exists(path) && !Directory.Exists(path)) return null;
            var info = new FileInfo(path);
            return info.LinkTarget is null ? info.FullName : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        var resolved = Posix.realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { Posix.free(resolved); }
    }

    /// <summary>What statx(2) says about a file; the statx record's layout is the same on every Linux architecture.</summary>
    private readonly record struct Stat(int Error, int Mode, long Size)
    {
        private const int TypeMask = 0xF000;
        public bool IsRegularFile => (Mode & TypeMask) == 0x8000;

        public string KindName => (Mode & TypeMask) switch
        {
            0x4000 => "a directory",
            0x1000 => "a FIFO",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0xA000 => "a link",
            _ => "not a regular file",
        };

        public static Stat OfPath(string path)
        {
            if (!OperatingSystem.IsLinux())
            {
                if (Directory.Exists(path)) return new Stat(0, 0x4000, 0);
                return File.Exists(path) ? new Stat(0, 0x8000, new FileInfo(path).Length) : new Stat(2, 0, 0);
            }
            return Query(Posix.AT_FDCWD, path, Posix.AT_SYMLINK_NOFOLLOW);
        }

        public static Stat OfDescriptor(int fd) => Query(fd, "", Posix.AT_EMPTY_PATH);

        private static Stat Query(int dirfd, string path, int flags)
        {
            var buffer = new byte[256];
            if (Posix.statx(dirfd, path, flags, Posix.STATX_TYPE | Posix.STATX_SIZE, buffer) != 0)
                return new Stat(Marshal.GetLastPInvokeError(), 0, 0);
            // struct statx: stx_mode is the u16 at byte 28, stx_size the u64 at byte 40 (native byte order).
            return new Stat(0, BitConverter.ToUInt16(buffer, 28), (long)BitConverter.ToUInt64(buffer, 40));
        }
    }

    private static class Posix
    {
        public const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
        public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
        public const uint STATX_TYPE = 0x1, STATX_SIZE = 0x200;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);

        [DllImport("libc", SetLastError = true)]
        public static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

        [DllImport("libc")]
        public static extern void free(IntPtr pointer);
    }
}

/// <summary>A file stream whose reads fail with <see cref="ServerFileException"/> when one returns nothing for too long.</summary>
internal sealed class TimedReadStream(Stream inner, TimeSpan timeout, string shown) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var copy = new byte[buffer.Length];
        var n = ReadAsync(copy).AsTask().GetAwaiter().GetResult();
        copy.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The read runs on the thread pool (a blocked read of a hung mount cannot be interrupted), and the caller stops
        // waiting for it after the timeout.
        var read = Task.Run(() => inner.Read(buffer.Span), CancellationToken.None);
        try
        {
            return await read.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new ServerFileException($"Reading {shown} returned nothing for {timeout.TotalSeconds:0} s (Esmc:Corpus:ReadTimeout); the read was abandoned.");
        }
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
