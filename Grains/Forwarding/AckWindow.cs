namespace Ingest.Forwarding;

/// <summary>
/// One topic's records between "sent to Kafka" and "acknowledged, position taken": every record sent
/// (and every segment's end marker) holds an entry, in file order. Delivery reports, from librdkafka's
/// thread and in any order across partitions, only mark their entry; <see cref="TryReap"/> takes the
/// delivered prefix off the head, so the acknowledged position only ever covers records whose every
/// predecessor is acknowledged too. A failed report stops the prefix there: the owner waits until no
/// report is pending, then <see cref="Drop"/>s everything and resends from the acknowledged position.
/// <para>Entries come from a silo-wide <see cref="InFlightPool"/> and go back once reaped or dropped with
/// all reports in; the window holds no array while it is empty, so an idle topic costs nothing here.</para>
/// </summary>
internal sealed class AckWindow(InFlightPool pool, Action onReport)
{
    private InFlight?[] _entries = [];
    private int _head;
    private int _count;
    private WindowEpoch _epoch = new();

    /// <summary>Entries sent or marked and not yet reaped.</summary>
    public int Count => _count;

    /// <summary>Reports not yet received for records of the current epoch.</summary>
    public int Pending => Volatile.Read(ref _epoch.Pending);

    /// <summary>Failed reports of the current epoch: resend from the acknowledged position once <see cref="Pending"/> is 0.</summary>
    public int Failed => Volatile.Read(ref _epoch.Failed);

    /// <summary>The reason of the last failed report, if any.</summary>
    public string? LastError => Volatile.Read(ref _epoch.LastError);

    /// <summary>The producer generation the current epoch's records were sent with.</summary>
    public int Generation { get; private set; } = -1;

    /// <summary>The ingest time of the oldest entry still in the window that is a record, or null.</summary>
    public long? OldestTimestampMs
    {
        get
        {
            for (var i = 0; i < _count; i++)
            {
                if (_entries[(_head + i) % _entries.Length] is { SegmentEnd: false } entry)
                {
                    return entry.TimestampMs;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Whether a record for producer <paramref name="generation"/> may join: not while reports of records
    /// sent with another producer are pending (the owner must first wait for them or drop them).
    /// </summary>
    public bool Accepts(int generation) => Pending == 0 || Generation == generation;

    /// <summary>Adds a record that is about to be sent; its <see cref="InFlight.OnDelivered"/> is the delivery handler.</summary>
    public InFlight AddRecord(long segment, long endOffset, int bytes, long timestampMs, int generation)
    {
        if (!Accepts(generation))
        {
            throw new InvalidOperationException($"records of producer {Generation} are pending; a record for producer {generation} cannot join them");
        }

        var entry = Add(segment, endOffset, bytes, segmentEnd: false, InFlight.Pending);
        entry.TimestampMs = timestampMs;
        Generation = generation;
        Interlocked.Increment(ref _epoch.Pending);
        return entry;
    }

    /// <summary>Adds a record that is not sent (outside a replay's window): complete at once, so the position still passes it.</summary>
    public void AddSkipped(long segment, long endOffset, int bytes) =>
        Add(segment, endOffset, bytes, segmentEnd: false, InFlight.Skipped);

    /// <summary>Marks the end of a sealed segment: once reaped, every record of the segment is acknowledged.</summary>
    public void AddSegmentEnd(long segment, long endOffset) =>
        Add(segment, endOffset, 0, segmentEnd: true, InFlight.Delivered);

    /// <summary>Takes back the last record added: the producer refused it (its queue is full) and it was never sent.</summary>
    public void Unsend()
    {
        var index = (_head + _count - 1) % _entries.Length;
        var entry = _entries[index]!;
        _entries[index] = null;
        _count--;
        Interlocked.Decrement(ref _epoch.Pending);
        pool.Return(entry);
    }

    /// <summary>Takes the head entry if it is complete (delivered, skipped or a segment end).</summary>
    public bool TryReap(out Reaped reaped)
    {
        reaped = default;
        if (_count == 0 || _entries[_head] is not { } head || Volatile.Read(ref head.State) is InFlight.Pending or InFlight.Failed)
        {
            return false;
        }

        reaped = new Reaped(head.Segment, head.EndOffset, head.Bytes, head.SegmentEnd, head.State == InFlight.Skipped, head.TimestampMs, head.Partition, head.Offset, head.Trace);
        _entries[_head] = null;
        _head = (_head + 1) % _entries.Length;
        _count--;
        pool.Return(head);
        if (_count == 0)
        {
            Shrink();
        }

        return true;
    }

    /// <summary>
    /// Forgets every entry and starts a new epoch. With no report pending the entries go back to the pool;
    /// otherwise (a replaced producer that never reported) they are left to the GC, and their late reports
    /// count against the old epoch only.
    /// </summary>
    /// <returns>The records that had been sent among them, and their bytes (what they held of the silo's budget).</returns>
    public (int Records, long Bytes) Drop()
    {
        var reusable = Pending == 0;
        var records = 0;
        long bytes = 0;
        for (var i = 0; i < _count; i++)
        {
            var index = (_head + i) % _entries.Length;
            var entry = _entries[index]!;
            if (!entry.SegmentEnd && entry.State != InFlight.Skipped)
            {
                records++;
                bytes += entry.Bytes;
            }

            if (reusable)
            {
                pool.Return(entry);
            }

            _entries[index] = null;
        }

        _head = 0;
        _count = 0;
        _epoch = new WindowEpoch();
        Shrink();
        return (records, bytes);
    }

    private InFlight Add(long segment, long endOffset, int bytes, bool segmentEnd, int state)
    {
        if (_count == _entries.Length)
        {
            Grow();
        }

        var entry = pool.Rent();
        entry.Segment = segment;
        entry.EndOffset = endOffset;
        entry.Bytes = bytes;
        entry.SegmentEnd = segmentEnd;
        entry.TimestampMs = 0;
        entry.Partition = -1;
        entry.Offset = -1;
        entry.Trace = null;
        entry.Epoch = _epoch;
        entry.Notify = onReport;
        Volatile.Write(ref entry.State, state);
        _entries[(_head + _count) % _entries.Length] = entry;
        _count++;
        return entry;
    }

    private void Grow()
    {
        var larger = new InFlight?[Math.Max(16, _entries.Length * 2)];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = _entries[(_head + i) % _entries.Length];
        }

        _entries = larger;
        _head = 0;
    }

    private void Shrink()
    {
        if (_entries.Length > 16)
        {
            _entries = [];
            _head = 0;
        }
    }

    /// <summary>A reaped entry's facts.</summary>
    public readonly record struct Reaped(long Segment, long EndOffset, int Bytes, bool SegmentEnd, bool Skipped, long TimestampMs, int Partition = -1, long KafkaOffset = -1, SentTrace? Trace = null);
}
