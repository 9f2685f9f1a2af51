using Microsoft.Win32.SafeHandles;

namespace Ingest.Segments;

/// <summary>
/// The open segment of one topic, written only by its topic grain. Appends are positional writes at
/// the end (one gathered <c>pwritev</c> per group commit); the length of the file is tracked here, so
/// a failed write can be cut back exactly.
/// </summary>
internal sealed class ActiveSegment : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly bool _fsync;

    private ActiveSegment(string path, SafeFileHandle handle, long length, bool fsync, long createdUnixMs)
    {
        Path = path;
        CreatedUnixMs = createdUnixMs;
        _handle = handle;
        Length = length;
        _syncedLength = length;
        _fsync = fsync;
    }

    public string Path { get; }

    /// <summary>The segment's number in its topic directory.</summary>
    public long Sequence => SegmentFile.SequenceOf(Path);

    /// <summary>When the segment was opened for its first record (the header's time): what rotation by age and day reads.</summary>
    public long CreatedUnixMs { get; }

    /// <summary>Bytes in the file, header included, up to the end of the last completed append.</summary>
    public long Length { get; private set; }

    // Fsync durability: the length the last successful fsync covered.
    private long _syncedLength;

    public static ActiveSegment Create(string path, long createdUnixMs, bool fsync, IFileFaults? faults = null)
    {
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(handle, UnixFileMode.UserRead | UnixFileMode.UserWrite); // records: the owner's only
        }

        try
        {
            Span<byte> header = stackalloc byte[SegmentFile.HeaderSize];
            SegmentFile.WriteHeader(header, createdUnixMs);
            RandomAccess.Write(handle, header, 0);
            if (fsync)
            {
                RandomAccess.FlushToDisk(handle);
                DirectorySync.Fsync(System.IO.Path.GetDirectoryName(path)!);
            }

            return new ActiveSegment(path, handle, SegmentFile.HeaderSize, fsync, createdUnixMs) { Faults = faults };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Fault injection for tests (full disk, EIO); null in production.</summary>
    public IFileFaults? Faults { get; private init; }

    /// <summary>
    /// Writes the parts back to back at the end of the file. If the write fails, the file is cut back
    /// to its previous length (best effort: recovery handles what a crash leaves) and the error rethrown.
    /// </summary>
    public void Append(IReadOnlyList<ReadOnlyMemory<byte>> parts, long totalBytes)
    {
        try
        {
            Faults?.BeforeWrite(Path, totalBytes);
            RandomAccess.Write(_handle, parts, Length);
        }
        catch
        {
            TryCutBack();
            throw;
        }

        Length += totalBytes;
    }

    /// <summary>
    /// fsync of the file's data (Fsync durability). If it fails, what was appended since the last good
    /// fsync was never acknowledged and its durability is unknown: the file is cut back to that point
    /// (so it is not shipped either) and the error rethrown.
    /// </summary>
    public void FlushToDisk()
    {
        try
        {
            Faults?.BeforeFsync(Path);
            RandomAccess.FlushToDisk(_handle);
        }
        catch
        {
            Length = _syncedLength;
            TryCutBack();
            throw;
        }

        _syncedLength = Length;
    }

    /// <summary>Closes the file and renames it to <c>.seg</c>: immutable from now on. Returns the sealed path.</summary>
    public string Seal()
    {
        _handle.Dispose();
        var sealedPath = SegmentFile.SealedPathOf(Path);
        File.Move(Path, sealedPath);
        if (_fsync)
        {
            DirectorySync.Fsync(System.IO.Path.GetDirectoryName(Path)!);
        }

        return sealedPath;
    }

    public void Dispose() => _handle.Dispose();

    private void TryCutBack()
    {
        try
        {
            RandomAccess.SetLength(_handle, Length);
        }
        catch (IOException)
        {
            // The segment is sealed by the caller; recovery will truncate a torn tail if one remains.
        }
    }
}

/// <summary>Hook for tests to make writes and fsyncs fail as a full or failing disk would.</summary>
internal interface IFileFaults
{
    void BeforeWrite(string path, long bytes);

    void BeforeFsync(string path);
}
