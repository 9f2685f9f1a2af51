using Ingest.Diagnostics;
using Ingest.Segments;
using Ingest.Topics;

namespace Ingest.Forwarding;

/// <summary>
/// What one topic log reports — position, records shipped, backlog, oldest unshipped record — kept in
/// fields any thread may read while the log's turns run (status pages, metrics scrapes). No status call
/// lists a directory; only the time of the oldest unshipped record may need one small read, and that is
/// kept until the position moves.
/// </summary>
internal sealed class TopicProgress(string topic, AppendCount? appended, bool countExisting, IngestInstruments instruments)
{
    private long _ackedSegment;
    private long _ackedOffset;
    private long _shippedRecords;
    private int _inFlight;
    private long _windowOldestMs;
    private string? _lastError;
    private OldestRecord? _oldest;

    // Backlog in records: records on disk at start past the checkpoint, plus appended since, minus shipped since.
    private long _backlogBase;
    private long _appendedAtStart;
    private bool _counted;

    public string Topic { get; } = topic;

    public KeyValuePair<string, object?> TopicTag { get; } = instruments.TagFor(topic);

    public long ShippedRecords => Volatile.Read(ref _shippedRecords);

    /// <summary>Reports pending after the last turn.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The directory's audit (null for a replay: its records are copies, counted where they were first stored).</summary>
    public Audit.TopicAudit? Audit { get; init; }

    /// <summary>Names each record sent (the <c>ingest-id</c> header); null sends none (tests).</summary>
    public Audit.RecordIdentity? Identity { get; init; }

    /// <summary>Requests waiting for Kafka's acknowledgement of their records (<c>durability=kafka</c>).</summary>
    public AckWaiters Waiters { get; } = new();

    /// <summary>The acknowledged position after the last turn.</summary>
    public Checkpoint Acked => new(Volatile.Read(ref _ackedSegment), Volatile.Read(ref _ackedOffset));

    /// <summary>At the log's first turn: the loaded position, and (for a directory found at start) a count of the frames past it.</summary>
    public void Begin(TopicLog log, Checkpoint acked)
    {
        Publish(acked, 0, null);
        if (appended is null || Volatile.Read(ref _counted))
        {
            return;
        }

        _appendedAtStart = Volatile.Read(ref appended.Value);
        long records = 0;
        if (countExisting)
        {
            foreach (var sequence in log.Segments.Sequences().Where(s => s >= acked.Segment))
            {
                var start = sequence == acked.Segment ? Math.Max(acked.Offset, SegmentFile.HeaderSize) : SegmentFile.HeaderSize;
                foreach (var sealedFile in new[] { log.Segments.IsSealed(sequence), !log.Segments.IsSealed(sequence) })
                {
                    try
                    {
                        records += SegmentCursor.CountFrames(log.Segments.PathOf(sequence, sealedFile), start);
                        break;
                    }
                    catch (FileNotFoundException)
                    {
                        // sealed (renamed) between the listing and the count: the other name
                    }
                }
            }
        }

        Volatile.Write(ref _backlogBase, records);
        Volatile.Write(ref _counted, true);
    }

    public void Shipped(long records, long bytes)
    {
        if (records > 0)
        {
            Interlocked.Add(ref _shippedRecords, records);
            instruments.AddShipped(records, TopicTag);
        }

        if (bytes > 0)
        {
            instruments.BytesShipped.Add(bytes, TopicTag);
        }
    }

    public void Failed(string? error) => Volatile.Write(ref _lastError, error);

    /// <summary>After a turn: the position, the reports pending and the oldest record in flight (if any).</summary>
    public void Publish(Checkpoint acked, int pending, long? oldestInFlightMs)
    {
        Volatile.Write(ref _ackedSegment, acked.Segment);
        Volatile.Write(ref _ackedOffset, acked.Offset);
        Volatile.Write(ref _inFlight, pending);
        Volatile.Write(ref _windowOldestMs, oldestInFlightMs ?? 0);
        Waiters.AckedUpTo(acked);
    }

    public TopicForwardingStatus Status(TopicLog log, string kafkaTopic)
    {
        var acked = Acked;
        var unshipped = log.Segments.UnshippedBytes(acked);
        return new TopicForwardingStatus(Topic, kafkaTopic, acked.Segment, acked.Offset, ShippedRecords, Volatile.Read(ref _inFlight), unshipped, Volatile.Read(ref _lastError))
        {
            BacklogRecords = BacklogRecords(unshipped),
            OldestUnshippedMs = unshipped == 0 ? null : OldestUnshipped(log, acked),
            AppendedRecords = appended is null ? 0 : Volatile.Read(ref appended.Value),
        };
    }

    /// <summary>
    /// Records on disk not yet acknowledged. Exact for topics this process created; for directories found
    /// at start it begins from a count of their frames, and it is reset to 0 whenever no byte is unshipped.
    /// </summary>
    private long BacklogRecords(long unshippedBytes)
    {
        if (appended is null || !Volatile.Read(ref _counted))
        {
            return 0;
        }

        var appendedSince = Volatile.Read(ref appended.Value) - _appendedAtStart;
        var shipped = ShippedRecords;
        if (unshippedBytes == 0)
        {
            Volatile.Write(ref _backlogBase, shipped - appendedSince);
            return 0;
        }

        return Math.Max(0, Volatile.Read(ref _backlogBase) + appendedSince - shipped);
    }

    /// <summary>The ingest time of the first record past the position: the oldest in flight, else the first on disk (read once per position).</summary>
    private long? OldestUnshipped(TopicLog log, Checkpoint acked)
    {
        if (Volatile.Read(ref _windowOldestMs) is > 0 and var inFlight)
        {
            return inFlight;
        }

        if (Volatile.Read(ref _oldest) is { } cached && cached.At == acked)
        {
            return cached.TimestampMs;
        }

        foreach (var sequence in log.Segments.Sequences().Where(s => s >= acked.Segment))
        {
            var offset = sequence == acked.Segment ? Math.Max(acked.Offset, SegmentFile.HeaderSize) : SegmentFile.HeaderSize;
            foreach (var sealedFile in new[] { log.Segments.IsSealed(sequence), !log.Segments.IsSealed(sequence) })
            {
                try
                {
                    if (SegmentCursor.TimestampAt(log.Segments.PathOf(sequence, sealedFile), offset) is { } timestamp)
                    {
                        Volatile.Write(ref _oldest, new OldestRecord(acked, timestamp));
                        return timestamp;
                    }

                    break;
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    // renamed or retired meanwhile
                }
            }
        }

        return null;
    }

    private sealed record OldestRecord(Checkpoint At, long TimestampMs);
}
