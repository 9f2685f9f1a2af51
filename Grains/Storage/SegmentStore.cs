using Ingest.Audit;
using Ingest.Diagnostics;
using Ingest.Options;
using Ingest.Segments;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Storage;

/// <summary>
/// Owns the data directory of this process (see Segments/README.md): takes its lock, recovers every
/// segment a crash left open, keeps the disk budget, and hands each topic grain its directory.
/// </summary>
internal sealed class SegmentStore : IStorageStatus, IDisposable
{
    private const string LockFileName = ".lock";
    private const string OwnerFileName = ".lock.owner";
    private const string ProbeFileName = ".probe";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly IngestOptions _options;
    private readonly DiskBudget _budget;
    private readonly ILogger<SegmentStore> _logger;
    private readonly IngestInstruments _instruments;
    private FileStream? _lock;

    /// <param name="audit">The silo's audits (one is made when none is given: tools and tests).</param>
    public SegmentStore(IOptions<IngestOptions> options, DiskBudget budget, ILogger<SegmentStore> logger, IngestInstruments instruments, AuditBook? audit = null)
    {
        _options = options.Value;
        _budget = budget;
        _logger = logger;
        _instruments = instruments;
        Audit = audit ?? new AuditBook(options, TimeProvider.System);
        Root = _options.ResolveDataDirectory();
        SegmentsRoot = Path.Combine(Root, "segments");
    }

    /// <summary>The data directory's folder of shipped segments (its layout is <c>Archive/SegmentArchive.cs</c>'s).</summary>
    public const string ArchiveDirectoryName = "archive";

    public string Root { get; }

    /// <summary>The disk budget of this data directory.</summary>
    public DiskBudget Budget => _budget;

    /// <summary>The audit of every topic directory of this data directory (kept beside the segments).</summary>
    public AuditBook Audit { get; }

    public string SegmentsRoot { get; }

    public bool Fsync => _options.Durability == Durability.Fsync;

    public bool IsOpen => _lock is not null;

    /// <summary>
    /// Takes the directory's exclusive lock (a second process is refused), then recovers and seals every
    /// <c>.active</c> segment. Runs before the silo accepts grain calls.
    /// </summary>
    public void Open()
    {
        if (IsOpen)
        {
            return; // taken before the host started (IngestSiloStartChecks)
        }

        if (!Directory.Exists(Root) && !OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Root, OwnerOnly); // created private: no looser moment to warn about
        }

        Directory.CreateDirectory(SegmentsRoot);
        RestrictToOwner(Root);
        var lockPath = Path.Combine(Root, LockFileName);
        try
        {
            _lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            var owner = TryReadOwner(Path.Combine(Root, OwnerFileName));
            throw new DataDirectoryLockedException(
                $"The data directory {Root} is in use by another process{owner}. Each silo needs its own Ingest:DataDirectory.", e);
        }

        // The pid goes into a separate file: reading the locked file would need the lock.
        File.WriteAllText(Path.Combine(Root, OwnerFileName), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Audit.Open(Root, SegmentsRoot);
        var segments = 0;
        long bytes = 0;
        foreach (var topicDirectory in Directory.EnumerateDirectories(SegmentsRoot))
        {
            foreach (var active in Directory.GetFiles(topicDirectory, "*" + SegmentFile.ActiveExtension))
            {
                RecoverAndSeal(active);
            }

            // Records a crash left uncounted (written after the audit's last write) are counted as recovered.
            Audit.Reconcile(Path.GetFileName(topicDirectory), topicDirectory);

            foreach (var file in Directory.EnumerateFiles(topicDirectory))
            {
                bytes += new FileInfo(file).Length;
                if (SegmentFile.SequenceOf(file) >= 0)
                {
                    segments++; // checkpoints and quarantined bytes take space but are no segments
                }
            }
        }

        // Archived segments count against the budget too (see Archive/SegmentArchive.cs).
        var archive = Path.Combine(Root, ArchiveDirectoryName);
        if (Directory.Exists(archive))
        {
            foreach (var file in Directory.EnumerateFiles(archive, "*", SearchOption.AllDirectories))
            {
                bytes += new FileInfo(file).Length;
            }
        }

        _budget.Initialize(Root, bytes);
        StorageLog.DataDirectoryOpened(_logger, Root, segments, bytes, _options.Durability);
    }

    /// <summary>The directory of one topic's segments; recovers a segment an earlier activation left open.</summary>
    public TopicSegments OpenTopic(string topic)
    {
        if (!IsOpen)
        {
            throw new InvalidOperationException("The segment store is not open yet.");
        }

        var directory = Path.Combine(SegmentsRoot, topic);
        Directory.CreateDirectory(directory);
        long lastSequence = 0;
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            lastSequence = Math.Max(lastSequence, SegmentFile.SequenceOf(file));
        }

        // Shipped segments are deleted: the checkpoint remembers how far numbering went, so a new
        // segment never reuses a number the forwarder already counts as shipped.
        if (Checkpoint.Load(directory) is { } checkpoint)
        {
            lastSequence = Math.Max(lastSequence, checkpoint.Segment - 1);
        }

        var recovered = false;
        foreach (var active in Directory.GetFiles(directory, "*" + SegmentFile.ActiveExtension))
        {
            RecoverAndSeal(active);
            recovered = true;
        }

        if (recovered)
        {
            Audit.Reconcile(topic, directory);
        }

        return new TopicSegments(directory, lastSequence);
    }

    public string RecoverAndSeal(string activePath)
    {
        var report = SegmentRecovery.Recover(activePath, Fsync, _logger, _instruments);
        if (report.Scan.End == ScanEnd.BadHeader)
        {
            return report.QuarantinePath!;
        }

        StorageLog.SegmentRecovered(_logger, activePath, report.Scan.Records, report.Scan.ValidLength, report.Scan.End.ToString());
        var sealedPath = SegmentFile.SealedPathOf(activePath);
        File.Move(activePath, sealedPath);
        if (Fsync)
        {
            DirectorySync.Fsync(Path.GetDirectoryName(activePath)!);
        }

        return sealedPath;
    }

    /// <summary>
    /// The data directory is the owner's alone (0700): records, keys' hashes and checkpoints are not
    /// readable by other local users, whatever the umask or the files' own modes.
    /// </summary>
    private void RestrictToOwner(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(directory);
        if (mode != OwnerOnly)
        {
            File.SetUnixFileMode(directory, OwnerOnly);
            StorageLog.DataDirectoryRestricted(_logger, directory, Convert.ToString((int)mode, 8));
        }
    }

    private volatile string? _closedForWrites;

    /// <summary>Null while the store takes appends; else why it takes none any more (the silo is leaving the cluster).</summary>
    public string? ClosedForWrites => _closedForWrites;

    /// <summary>No append is written from now on (see <c>TopicWriters.CloseAll</c>); what is stored stays and ships.</summary>
    public void CloseForWrites(string reason) => _closedForWrites ??= reason;

    /// <inheritdoc />
    public bool IsWritable(out string reason)
    {
        if (_closedForWrites is { } closed)
        {
            reason = closed;
            return false;
        }

        if (!IsOpen)
        {
            reason = "data directory not open yet";
            return false;
        }

        try
        {
            var probe = Path.Combine(Root, ProbeFileName);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = $"data directory {Root} is not writable: {e.Message}";
            return false;
        }

        return _budget.HasRoom(out reason);
    }

    public void Dispose()
    {
        if (IsOpen)
        {
            Audit.PersistAll();
        }

        _lock?.Dispose();
        _lock = null;
    }

    private static string TryReadOwner(string ownerPath)
    {
        try
        {
            var pid = File.ReadAllText(ownerPath).Trim();
            return pid.Length > 0 ? $" (pid {pid})" : string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}

/// <summary>One topic's segment directory on this node.</summary>
internal sealed class TopicSegments(string directory, long lastSequence)
{
    private long _lastSequence = lastSequence;

    public string Directory { get; } = directory;

    public string NextActivePath() =>
        Path.Combine(Directory, SegmentFile.FileName(++_lastSequence, SegmentFile.ActiveExtension));
}

/// <summary>Another process holds the data directory's lock.</summary>
public sealed class DataDirectoryLockedException(string message, Exception inner) : IOException(message, inner);

/// <summary>What readiness needs to know about local storage.</summary>
public interface IStorageStatus
{
    /// <summary>True when the data directory is open, writable, and the disk budget has room.</summary>
    bool IsWritable(out string reason);
}
