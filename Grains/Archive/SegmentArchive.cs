using System.Globalization;
using Ingest.Diagnostics;
using Ingest.Options;
using Ingest.Segments;
using Ingest.Storage;
using Ingest.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Archive;

/// <summary>
/// Where a fully shipped segment goes, and where archived segments are deleted:
/// <c>&lt;data&gt;/archive/&lt;yyyyMMdd&gt;/&lt;topic&gt;/&lt;seq&gt;.seg</c>, dated by the segment's first
/// record (a segment never spans two UTC days). Only segments Kafka acknowledged entirely ever get here,
/// so nothing this class deletes is unshipped. Archived bytes count against <c>Ingest:MaxDiskBytes</c>;
/// retention deletes whole days, and when appends need room the oldest archived segments go first.
/// </summary>
internal sealed class SegmentArchive
{
    public const string DirectoryName = SegmentStore.ArchiveDirectoryName;
    private const string DayFormat = "yyyyMMdd";

    private readonly SegmentStore _store;
    private readonly DiskBudget _budget;
    private readonly IngestOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<SegmentArchive> _logger;
    private readonly IngestInstruments _instruments;
    private readonly Lock _lock = new();
    private long _bytes = -1;

    public SegmentArchive(
        SegmentStore store,
        DiskBudget budget,
        IOptions<IngestOptions> options,
        [FromKeyedServices(IngestClock.ServiceKey)] TimeProvider clock,
        ILogger<SegmentArchive> logger,
        IngestInstruments instruments)
    {
        _store = store;
        _budget = budget;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _instruments = instruments;
    }

    public string Root => Path.Combine(_store.Root, DirectoryName);

    public static string DayOf(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString(DayFormat, CultureInfo.InvariantCulture);

    /// <summary>
    /// A sealed segment every record of which Kafka has acknowledged: moved into the archive (a rename on
    /// the same file system), or deleted when <c>Ingest:RetentionDays</c> is 0. Returns false if the file
    /// could not be moved or deleted (it is retried when the shipper next starts).
    /// </summary>
    public bool Retire(string topic, string segmentPath)
    {
        var length = SegmentFile.LengthOrZero(segmentPath);
        var name = Path.GetFileName(segmentPath);
        try
        {
            if (_options.RetentionDays == 0)
            {
                File.Delete(segmentPath);
                _budget.Release(length);
                _instruments.SegmentsDeleted.Add(1, _instruments.TagFor(topic));
                StorageLog.ShippedSegmentDeleted(_logger, topic, name, length);
                return true;
            }

            var created = SegmentFile.ReadCreatedMs(segmentPath) ?? _clock.GetUtcNow().ToUnixTimeMilliseconds();
            var directory = Path.Combine(Root, DayOf(created), topic);
            long total;
            lock (_lock)
            {
                EnsureCounted();
                Directory.CreateDirectory(directory);
                var target = Path.Combine(directory, name);
                File.Move(segmentPath, target, overwrite: true);
                if (_store.Fsync)
                {
                    DirectorySync.Fsync(directory);
                    DirectorySync.Fsync(Path.GetDirectoryName(segmentPath)!);
                }

                _bytes += length;
                total = _bytes;
                _instruments.ArchiveBytes = total;
            }

            _instruments.SegmentsArchived.Add(1, _instruments.TagFor(topic));
            StorageLog.SegmentArchived(_logger, topic, name, Path.Combine(directory, name), length, total);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StorageLog.ArchiveFailed(_logger, e, segmentPath);
            return false;
        }
    }

    /// <summary>Deletes every archived day older than <c>Ingest:RetentionDays</c> before today (UTC). Returns the segments deleted.</summary>
    public int ApplyRetention()
    {
        var today = _clock.GetUtcNow().UtcDateTime.Date;
        var oldestKept = today.AddDays(-_options.RetentionDays);
        var deleted = 0;
        lock (_lock)
        {
            EnsureCounted();
            foreach (var (day, directory) in Days())
            {
                if (day >= oldestKept)
                {
                    break;
                }

                var (segments, bytes) = DeleteTree(directory, "retention");
                deleted += segments;
                StorageLog.ArchiveDayDeleted(_logger, Path.GetFileName(directory), _options.RetentionDays, segments, bytes);
            }
        }

        return deleted;
    }

    /// <summary>
    /// Frees at least <paramref name="bytesNeeded"/> by deleting archived segments, oldest day first, before
    /// their retention. Unshipped segments are never touched. Returns the bytes freed (less if the archive
    /// held less).
    /// </summary>
    public long Evict(long bytesNeeded)
    {
        long freed = 0;
        var segments = 0;
        var lastDay = string.Empty;
        lock (_lock)
        {
            if (EnsureCounted() == 0)
            {
                return 0; // nothing archived: no directory walk on every refused append
            }

            foreach (var (_, dayDirectory) in Days())
            {
                lastDay = Path.GetFileName(dayDirectory);
                var files = Directory.EnumerateDirectories(dayDirectory)
                    .SelectMany(Directory.EnumerateFiles)
                    .Select(path => new FileInfo(path))
                    .OrderBy(file => file.LastWriteTimeUtc)
                    .ToList();
                foreach (var file in files)
                {
                    if (freed >= bytesNeeded)
                    {
                        break;
                    }

                    if (TryDelete(file.FullName, file.Length, "disk_budget"))
                    {
                        freed += file.Length;
                        segments++;
                    }
                }

                RemoveEmptyDirectories(dayDirectory);
                if (freed >= bytesNeeded)
                {
                    break;
                }
            }
        }

        if (segments > 0)
        {
            StorageLog.ArchiveEvicted(_logger, segments, freed, lastDay);
        }

        return freed;
    }

    /// <summary>
    /// Archived segments of <paramref name="topic"/> (all its shards) whose day lies in
    /// [<paramref name="fromDay"/>, <paramref name="toDay"/>]: by shard, then in write order, so each key's
    /// records (always in one shard) keep their order.
    /// </summary>
    public IReadOnlyList<string> Segments(string topic, DateTime fromDay, DateTime toDay)
    {
        var found = new List<(int Shard, long Sequence, string Path)>();
        lock (_lock)
        {
            foreach (var (day, directory) in Days())
            {
                if (day < fromDay.Date || day > toDay.Date)
                {
                    continue;
                }

                foreach (var shardDirectory in Directory.EnumerateDirectories(directory))
                {
                    if (!TopicShards.TryParse(Path.GetFileName(shardDirectory), out var owner, out var shard) || owner != topic)
                    {
                        continue;
                    }

                    foreach (var path in Directory.EnumerateFiles(shardDirectory))
                    {
                        var sequence = SegmentFile.SequenceOf(path);
                        if (sequence >= 0 && path.EndsWith(SegmentFile.SealedExtension, StringComparison.Ordinal))
                        {
                            found.Add((shard, sequence, path));
                        }
                    }
                }
            }
        }

        found.Sort((a, b) => a.Shard != b.Shard ? a.Shard.CompareTo(b.Shard) : a.Sequence.CompareTo(b.Sequence));
        return found.ConvertAll(f => f.Path);
    }

    private List<(DateTime Day, string Directory)> Days()
    {
        var days = new List<(DateTime, string)>();
        if (!Directory.Exists(Root))
        {
            return days;
        }

        foreach (var directory in Directory.EnumerateDirectories(Root))
        {
            if (DateTime.TryParseExact(Path.GetFileName(directory), DayFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var day))
            {
                days.Add((day.Date, directory));
            }
        }

        days.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return days;
    }

    private (int Segments, long Bytes) DeleteTree(string dayDirectory, string reason)
    {
        var segments = 0;
        long bytes = 0;
        foreach (var file in Directory.EnumerateFiles(dayDirectory, "*", SearchOption.AllDirectories).Select(path => new FileInfo(path)).ToList())
        {
            if (TryDelete(file.FullName, file.Length, reason))
            {
                segments++;
                bytes += file.Length;
            }
        }

        RemoveEmptyDirectories(dayDirectory);
        return (segments, bytes);
    }

    private bool TryDelete(string path, long length, string reason)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StorageLog.ArchiveFailed(_logger, e, path);
            return false;
        }

        _budget.Release(length);
        _bytes -= length;
        _instruments.ArchiveBytes = _bytes;
        _instruments.ArchiveDeletions.Add(1, new KeyValuePair<string, object?>(IngestInstruments.ReasonTag, reason));
        return true;
    }

    private static void RemoveEmptyDirectories(string dayDirectory)
    {
        try
        {
            foreach (var topicDirectory in Directory.EnumerateDirectories(dayDirectory).ToList())
            {
                if (!Directory.EnumerateFileSystemEntries(topicDirectory).Any())
                {
                    Directory.Delete(topicDirectory);
                }
            }

            if (!Directory.EnumerateFileSystemEntries(dayDirectory).Any())
            {
                Directory.Delete(dayDirectory);
            }
        }
        catch (IOException)
        {
            // Another pass removes it.
        }
    }

    private long EnsureCounted()
    {
        if (_bytes < 0)
        {
            _bytes = Directory.Exists(Root)
                ? Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).Sum(path => new FileInfo(path).Length)
                : 0;
            _instruments.ArchiveBytes = _bytes;
        }

        return _bytes;
    }
}
