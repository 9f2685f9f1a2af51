using System.Collections.Concurrent;
using Ingest.Options;
using Ingest.Segments;
using Ingest.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ingest.Audit;

/// <summary>
/// This silo's audits, one per topic directory (<see cref="TopicAudit"/>), created when a directory is first
/// opened (at the store's start, a topic grain's activation, a forwarder's first turn) and kept, like the
/// append counters: a few positions and the rows not yet written, not the hours. Hours are kept for the
/// archive's retention (at least a day), so an audit covers what could still be replayed.
/// </summary>
internal sealed class AuditBook(IOptions<IngestOptions> options, [FromKeyedServices(IngestClock.ServiceKey)] TimeProvider time, ILogger<AuditBook>? logger = null)
{
    private readonly ConcurrentDictionary<string, TopicAudit> _audits = new(StringComparer.Ordinal);
    private string? _segmentsRoot;

    public TimeProvider Time => time;

    public ILogger Logger { get; } = (ILogger?)logger ?? NullLogger.Instance;

    public bool Fsync => options.Value.Durability == Durability.Fsync;

    /// <summary>Hours before this one are dropped from the files.</summary>
    public long OldestHour() =>
        AuditClock.HourOf(time.GetUtcNow().ToUnixTimeMilliseconds()) - (24L * Math.Max(1, options.Value.RetentionDays)) - 24;

    /// <summary>This data directory's identity (<see cref="RecordIds"/>), known once the store is open.</summary>
    public string NodeId { get; private set; } = string.Empty;

    /// <summary>Called by the segment store once its data directory is open (and locked).</summary>
    public void Open(string root, string segmentsRoot)
    {
        NodeId = RecordIds.LoadOrCreateNodeId(root, Fsync);
        _segmentsRoot = segmentsRoot;
    }

    /// <summary>The audit of a topic (or shard) directory.</summary>
    public TopicAudit For(string key, string directory) =>
        _audits.TryGetValue(key, out var audit) ? audit : _audits.GetOrAdd(key, _ => new TopicAudit(directory, this));

    /// <summary>
    /// Counts what a start finds on disk past the stored position, for every segment of the directory (sealed:
    /// recovery has sealed what was left open).
    /// </summary>
    public long Reconcile(string key, string directory)
    {
        var segments = new List<(long Sequence, string Path)>();
        foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*" + SegmentFile.SealedExtension))
        {
            if (SegmentFile.SequenceOf(file) is var sequence and >= 0)
            {
                segments.Add((sequence, file));
            }
        }

        segments.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return For(key, directory).Reconcile(segments);
    }

    /// <summary>
    /// This silo's hours of <paramref name="topic"/> (all its shards) in [<paramref name="fromHour"/>, <paramref name="toHour"/>),
    /// from every directory of the topic on this silo, written or not.
    /// </summary>
    public SortedDictionary<long, AuditRow> Read(string topic, long fromHour, long toHour)
    {
        var total = new SortedDictionary<long, AuditRow>();
        if (_segmentsRoot is not { } root || !System.IO.Directory.Exists(root))
        {
            return total;
        }

        foreach (var directory in System.IO.Directory.EnumerateDirectories(root))
        {
            var key = Path.GetFileName(directory);
            if (!TopicShards.TryParse(key, out var name, out _) || !string.Equals(name, topic, StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (hour, row) in For(key, directory).Read(fromHour, toHour))
            {
                AuditRow.AddTo(total, hour, row);
            }
        }

        return total;
    }

    /// <summary>Writes every audit with changes (a stop).</summary>
    public void PersistAll()
    {
        foreach (var audit in _audits.Values)
        {
            audit.Persist();
        }
    }
}
