using Ingest.Options;
using Microsoft.Extensions.Options;

namespace Ingest.Storage;

/// <summary>
/// Counts the bytes in the data directory and refuses appends that would pass
/// <see cref="IngestOptions.MaxDiskBytes"/> or leave less than <see cref="IngestOptions.MinFreeDiskBytes"/>
/// free on the file system. Reservation is lock-free; free space is sampled at most once a second.
/// </summary>
internal sealed class DiskBudget(IOptions<IngestOptions> options, TimeProvider time) : Diagnostics.IDiskUsage
{
    private static readonly TimeSpan FreeSpaceSampleInterval = TimeSpan.FromSeconds(1);

    private readonly long _maxBytes = options.Value.MaxDiskBytes;
    private readonly long _minFreeBytes = options.Value.MinFreeDiskBytes;
    private long _usedBytes;
    private long _freeBytes = long.MaxValue;
    private long _freeSampledAt = long.MinValue;
    private string? _directory;

    public long UsedBytes => Volatile.Read(ref _usedBytes);

    public long MaxBytes => _maxBytes;

    /// <summary>Free bytes on the data directory's file system, as last sampled.</summary>
    public long FreeBytes => Volatile.Read(ref _freeBytes);

    public void Initialize(string directory, long usedBytes)
    {
        _directory = directory;
        Volatile.Write(ref _usedBytes, usedBytes);
        SampleFreeSpace(force: true);
    }

    public bool TryReserve(long bytes, out string reason)
    {
        var used = Interlocked.Add(ref _usedBytes, bytes);
        if (used > _maxBytes)
        {
            Interlocked.Add(ref _usedBytes, -bytes);
            reason = $"disk budget exhausted: {used - bytes} of Ingest:MaxDiskBytes={_maxBytes} bytes in use";
            return false;
        }

        SampleFreeSpace(force: false);
        if (Volatile.Read(ref _freeBytes) - bytes < _minFreeBytes)
        {
            Interlocked.Add(ref _usedBytes, -bytes);
            reason = $"file system nearly full: {FreeBytes} bytes free, Ingest:MinFreeDiskBytes={_minFreeBytes}";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    public void Release(long bytes) => Interlocked.Add(ref _usedBytes, -bytes);

    /// <summary>
    /// Readiness: false once less than a headroom of min(1 MiB, 10 % of the budget) is left, so a node
    /// stops advertising itself before appends start failing, not after.
    /// </summary>
    public bool HasRoom(out string reason)
    {
        var headroom = Math.Min(1024 * 1024, _maxBytes / 10);
        if (TryReserve(headroom, out reason))
        {
            Release(headroom);
            return true;
        }

        return false;
    }

    private void SampleFreeSpace(bool force)
    {
        var now = time.GetTimestamp();
        var last = Volatile.Read(ref _freeSampledAt);
        if (!force && last != long.MinValue && time.GetElapsedTime(last, now) < FreeSpaceSampleInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _freeSampledAt, now, last) != last || _directory is null)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _freeBytes, new DriveInfo(_directory).AvailableFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Unknown free space: rely on MaxDiskBytes and on write errors.
            Volatile.Write(ref _freeBytes, long.MaxValue);
        }
    }
}
