using Ingest.Diagnostics;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Audit;

/// <summary>
/// The audit of one topic directory on this silo (a topic or a shard of one): per UTC hour of ingest time,
/// records stored (accepted by a commit, or recovered from disk after a crash), acknowledged by Kafka (with
/// the offsets), and sent again. Each count is tied to a position in the directory's segments and counts a
/// record only past it, so a record is counted once whatever is resent, replayed or recovered.
/// <para>
/// Three threads touch it — the topic grain's commits, the forwarder's turns and an audit query — so it keeps a
/// small lock, taken per commit, per delivery report reaped and per send pass, never per byte, and never held
/// over the file: a write takes what changed under it and writes (and fsyncs) outside it, so a commit never
/// waits for the audit's disk. Writes are ordered by a second lock, which an audit query also takes (the rows
/// being written are then in the file). In memory it holds only what changed since the last write (a few rows);
/// the hours live in the file (<see cref="AuditFile"/>, a journal appended to at most every
/// <see cref="PersistInterval"/> while records flow — off the commit path — before each checkpoint, and at a stop).
/// </para>
/// </summary>
internal sealed class TopicAudit
{
    /// <summary>How often a topic grain's commits write the audit while no checkpoint does (e.g. Kafka is down).</summary>
    public static readonly TimeSpan PersistInterval = TimeSpan.FromSeconds(1);

    private readonly AuditFile _file;
    private readonly AuditBook _book;
    private readonly Lock _lock = new();
    private readonly Lock _writing = new();
    private Dictionary<long, AuditRow> _delta = [];
    private readonly AckTally _tally = new();
    private Checkpoint _stored;
    private Checkpoint _acked;
    private Checkpoint _sent;
    private bool _dirty;
    private long _persistedAt;
    private int _writeQueued;

    public TopicAudit(string directory, AuditBook book)
    {
        _book = book;
        _file = new AuditFile(directory);
        var state = _file.Load();
        _stored = state.StoredThrough;
        _acked = state.AckedThrough;
        _sent = state.SentThrough;
        _persistedAt = book.Time.GetTimestamp();
    }

    public string Directory => _file.Directory;

    /// <summary>A commit wrote <paramref name="frames"/> (one part per append) into <paramref name="segment"/>, ending at byte <paramref name="end"/>: counted as accepted.</summary>
    public void Accepted(List<ReadOnlyMemory<byte>> frames, long segment, long end)
    {
        lock (_lock)
        {
            var at = new Checkpoint(segment, end);
            if (at.CompareTo(_stored) <= 0)
            {
                return;
            }

            foreach (var part in frames)
            {
                CountAccepted(part.Span);
            }

            _stored = at;
            _dirty = true;
        }
    }

    /// <summary>
    /// At a start: counts as recovered every record of <paramref name="segments"/> (sequence and path, oldest
    /// first, sealed) past the stored position — records written before a crash whose count was not yet written.
    /// </summary>
    public long Reconcile(IEnumerable<(long Sequence, string Path)> segments)
    {
        long found = 0;
        lock (_lock)
        {
            foreach (var (sequence, path) in segments)
            {
                if (sequence < _stored.Segment)
                {
                    continue;
                }

                var from = sequence == _stored.Segment ? Math.Max(_stored.Offset, SegmentFile.HeaderSize) : SegmentFile.HeaderSize;
                using var cursor = SegmentCursor.Open(path, from, bufferSize: 1 << 16);
                while (cursor.Next(out var record, out _) == CursorStep.Record)
                {
                    Row(AuditClock.HourOf(record.TimestampMs)).Recovered++;
                    found++;
                }

                _stored = new Checkpoint(sequence, Math.Max(from, cursor.Position));
            }

            _dirty |= found > 0;
        }

        if (found > 0)
        {
            Persist();
        }

        return found;
    }

    /// <summary>One delivery report for the record ending at <paramref name="end"/> of <paramref name="segment"/> (a reap of one).</summary>
    public void Delivered(long segment, long end, long timestampMs, int partition, long offset)
    {
        var tally = BeginAcks();
        tally.Add(segment, end, timestampMs, partition, offset);
        EndAcks(tally);
    }

    /// <summary>A reap begins: the tally its acknowledgements are counted in (one per audit, used by its topic log's turns only).</summary>
    public AckTally BeginAcks()
    {
        lock (_lock)
        {
            _tally.Begin(_acked);
        }

        return _tally;
    }

    /// <summary>The reap's acknowledgements, counted in one step.</summary>
    public void EndAcks(AckTally tally)
    {
        if (tally.IsEmpty)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var (hour, row) in tally.Rows)
            {
                AuditRow.AddTo(_delta, hour, row);
            }

            if (tally.Through.CompareTo(_acked) > 0)
            {
                _acked = tally.Through;
            }

            _dirty = true;
        }
    }

    /// <summary>Where sending had got to (records before it were sent at least once).</summary>
    public Checkpoint SentThrough
    {
        get
        {
            lock (_lock)
            {
                return _sent;
            }
        }
    }

    /// <summary>The end of a send pass: records sent again per hour, and how far sending got.</summary>
    public void Sent(Checkpoint through, Dictionary<long, long>? again)
    {
        lock (_lock)
        {
            if (through.CompareTo(_sent) > 0)
            {
                _sent = through;
                _dirty = true;
            }

            if (again is null)
            {
                return;
            }

            foreach (var (hour, records) in again)
            {
                Row(hour).SentAgain += records;
            }

            _dirty = true;
        }
    }

    /// <summary>
    /// From a commit: when a write is due (the interval since the last has passed and something changed) and none is
    /// queued, queues one on the thread pool, so that no answer waits for the audit's write (and fsync). One that
    /// fails is logged; its counts are kept for the next.
    /// </summary>
    public void WriteSoonIfDue()
    {
        if (Volatile.Read(ref _dirty) && _book.Time.GetElapsedTime(Volatile.Read(ref _persistedAt)) >= PersistInterval
            && Interlocked.CompareExchange(ref _writeQueued, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static audit => audit.WriteQueued(), this, preferLocal: false);
        }
    }

    private void WriteQueued()
    {
        try
        {
            Persist();
        }
        catch (Exception e)
        {
            StorageLog.AuditWriteFailed(_book.Logger, e, Directory); // on the pool nobody else would hear of it; the counts wait for the next write
        }
    }

    /// <summary>
    /// Appends what changed to the file (one small write; the journal compacts itself now and then, dropping hours
    /// past the retention). Returns when it is written, so a checkpoint written after it never runs ahead of it.
    /// A write that fails leaves what it took to be written with the next.
    /// </summary>
    public void Persist()
    {
        lock (_writing)
        {
            Volatile.Write(ref _writeQueued, 0);
            AuditState positions;
            Dictionary<long, AuditRow> written;
            lock (_lock)
            {
                if (!_dirty)
                {
                    return;
                }

                positions = new AuditState { StoredThrough = _stored, AckedThrough = _acked, SentThrough = _sent };
                (written, _delta) = (_delta, []); // at most one write a second per topic: an idle topic holds no more than before
                _dirty = false;
            }

            try
            {
                _file.Append(positions, written, _book.OldestHour(), _book.Fsync);
            }
            catch
            {
                lock (_lock)
                {
                    foreach (var (hour, row) in written)
                    {
                        AuditRow.AddTo(_delta, hour, row);
                    }

                    _dirty = true;
                }

                throw;
            }
            finally
            {
                Volatile.Write(ref _persistedAt, _book.Time.GetTimestamp()); // a failed write is tried again an interval later, not per commit
            }
        }
    }

    /// <summary>The hours in [<paramref name="fromHour"/>, <paramref name="toHour"/>): the file's rows plus what is not written yet.</summary>
    public SortedDictionary<long, AuditRow> Read(long fromHour, long toHour)
    {
        lock (_writing)
        lock (_lock)
        {
            var rows = new SortedDictionary<long, AuditRow>();
            fromHour = Math.Max(fromHour, _book.OldestHour()); // older hours wait in the journal for its next compaction
            foreach (var (hour, row) in _file.Load().Hours)
            {
                if (hour >= fromHour && hour < toHour)
                {
                    rows[hour] = row;
                }
            }

            foreach (var (hour, row) in _delta)
            {
                if (hour >= fromHour && hour < toHour)
                {
                    AuditRow.AddTo(rows, hour, row);
                }
            }

            return rows;
        }
    }

    private AuditRow Row(long hour)
    {
        if (!_delta.TryGetValue(hour, out var row))
        {
            _delta[hour] = row = new AuditRow();
        }

        return row;
    }

    /// <summary>Counts each frame of <paramref name="frames"/> into its hour (a commit's frames were checked when queued).</summary>
    private void CountAccepted(ReadOnlySpan<byte> frames)
    {
        var hour = long.MinValue;
        AuditRow? row = null;
        while (!frames.IsEmpty)
        {
            var frameHour = AuditClock.HourOf(RecordFrame.TimestampOf(frames, out var size));
            if (frameHour != hour || row is null)
            {
                hour = frameHour;
                row = Row(hour);
            }

            row.Accepted++;
            frames = frames[size..];
        }
    }
}
