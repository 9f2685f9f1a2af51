using Ingest.Diagnostics;
using Ingest.Rotation;
using Ingest.Segments;
using Ingest.Storage;

namespace Ingest.Topics;

/// <summary>
/// A topic's one open segment on this silo, for its <see cref="TopicWriter"/>: opened when a commit needs one,
/// sealed when the writer decides (age, UTC day, size, disk full, a failed write, the silo leaving). It takes no
/// lock of its own: the writer calls it on the grain's turn or under its gate.
/// </summary>
/// <param name="opened">Called with each segment opened (the grain arms its rotation timer).</param>
/// <param name="writer">Registered with <paramref name="shared"/> while a segment is open: what a leaving silo closes.</param>
internal sealed class SegmentSlot(
    string topic,
    TopicSegments segments,
    TopicWriters shared,
    KeyValuePair<string, object?> topicTag,
    Action<ActiveSegment> opened,
    TopicWriter writer)
{
    /// <summary>The topic's segment directory on this silo.</summary>
    public string Directory => segments.Directory;

    /// <summary>The segment appends go to now, or null between segments.</summary>
    public ActiveSegment? Active { get; private set; }

    /// <summary>The open segment, or a new one (the next sequence of the directory) if none is open.</summary>
    public ActiveSegment OpenIfNone()
    {
        if (Active is { } active)
        {
            return active;
        }

        var path = segments.NextActivePath();
        var segment = ActiveSegment.Create(path, shared.Clock.GetUtcNow().ToUnixTimeMilliseconds(), shared.Fsync, shared.Faults);
        StorageLog.SegmentCreated(shared.Logger, path);
        Active = segment;
        shared.SegmentOpened(writer);
        opened(segment);
        return segment;
    }

    /// <summary>Seals the open segment, if any: it becomes <c>.seg</c>, for the forwarder to ship.</summary>
    public void Seal(SealReason reason)
    {
        var active = Active;
        if (active is null)
        {
            return;
        }

        Active = null;
        shared.SegmentSealed(writer);
        try
        {
            var sealedPath = active.Seal();
            shared.Instruments.SegmentsSealed.Add(1, topicTag, new(IngestInstruments.ReasonTag, reason.ToString()));
            StorageLog.SegmentSealed(shared.Logger, sealedPath, active.Length, reason.ToString());
            shared.Events.Sealed(topic, active.Sequence, active.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file stays .active; the next silo start recovers and seals it.
            active.Dispose();
            StorageLog.AppendFailed(shared.Logger, e, topic, active.Path, 0);
        }
    }
}
