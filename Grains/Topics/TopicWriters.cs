using Ingest.Options;
using Ingest.Archive;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Rotation;
using Ingest.Segments;
using Ingest.Storage;
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.Topics;

/// <summary>Room on disk for appends: the disk budget, and when it is spent, archived segments evicted (oldest first) to make room.</summary>
/// <param name="evict">Frees at least the bytes asked for from the archive, oldest first; returns the bytes freed (<see cref="SegmentArchive.Evict"/>).</param>
internal sealed class DiskRoom(DiskBudget budget, Func<long, long> evict)
{
    /// <summary>Takes <paramref name="bytes"/> from the budget, evicting archived segments first if they would make room.</summary>
    public bool TryTake(long bytes, out string reason) =>
        budget.TryReserve(bytes, out reason) || (evict(bytes) > 0 && budget.TryReserve(bytes, out reason));

    /// <summary>Gives back what was taken for bytes that never reached the disk.</summary>
    public void Release(long bytes) => budget.Release(bytes);
}

/// <summary>What every <see cref="TopicWriter"/> of this silo shares; makes the writer of a topic.</summary>
internal sealed class TopicWriters(
    SegmentStore store,
    DiskRoom room,
    IngestInstruments instruments,
    ISegmentEvents events,
    AppendCounts appendCounts,
    [FromKeyedServices(IngestClock.ServiceKey)] TimeProvider clock,
    IEnumerable<IFileFaults> faults,
    ILogger<TopicWriter> logger)
{
    public DiskRoom Room => room;

    public IngestInstruments Instruments => instruments;

    public ISegmentEvents Events => events;

    public AppendCounts AppendCounts => appendCounts;

    /// <summary>The audits of this silo's topic directories: a commit counts what it wrote.</summary>
    public Audit.AuditBook Audit => store.Audit;

    /// <summary>The Ingest clock: segment creation times, rotation deadlines.</summary>
    public TimeProvider Clock => clock;

    public ILogger Logger => logger;

    public bool Fsync => store.Fsync;

    /// <summary>Injected write and fsync faults (tests only; none in production).</summary>
    public IFileFaults? Faults { get; } = faults.FirstOrDefault();

    /// <summary>The writer of <paramref name="topic"/> (a topic or shard key): opens its directory, recovering what an earlier run left.</summary>
    public TopicWriter Open(string topic, Func<RotationPolicy> policy, Action<ActiveSegment> opened)
    {
        var writer = new TopicWriter(topic, store.OpenTopic(topic), this, policy, opened);
        _active.TryAdd(topic, 0);
        return writer;
    }

    // The topic grains active on this silo (a drained silo hands each over): one entry per activation.
    private readonly ConcurrentDictionary<string, byte> _active = new(StringComparer.Ordinal);

    /// <summary>The topic (or shard) keys whose grain is active on this silo now.</summary>
    public ICollection<string> ActiveTopics => _active.Keys;

    /// <summary>A topic grain deactivated.</summary>
    public void Deactivated(string topic) => _active.TryRemove(topic, out _);

    // The writers with an open segment: what a silo that leaves the cluster must seal. Cost follows
    // traffic: one entry per open segment, added when it opens and removed when it is sealed.
    private readonly ConcurrentDictionary<TopicWriter, byte> _open = new();

    /// <summary>Null while appends are taken; else why none is (the silo is leaving the cluster for good).</summary>
    public string? Closed => store.ClosedForWrites;

    /// <summary>How many segments are open now.</summary>
    public int OpenSegments => _open.Count;

    internal void SegmentOpened(TopicWriter writer) => _open.TryAdd(writer, 0);

    internal void SegmentSealed(TopicWriter writer) => _open.TryRemove(writer, out _);

    /// <summary>
    /// For a silo that leaves the cluster for good: no append is written from now on (each gets 503
    /// Unavailable with <paramref name="reason"/>), and every open segment is sealed, at once or right after the
    /// commit it is in (so a commit that was writing completes and its appends get their answer). Safe from
    /// any thread. Returns how many segments were open; <see cref="OpenSegments"/> falls to 0 as they are sealed.
    /// </summary>
    public int CloseAll(string reason)
    {
        store.CloseForWrites(reason);
        var open = _open.Keys.ToList();
        foreach (var writer in open)
        {
            writer.Close();
        }

        return open.Count;
    }
}
