using Ingest.Segments;

namespace Ingest.Forwarding;

/// <summary>
/// One topic's acknowledged position and when it is persisted (<c>segments/&lt;topic&gt;/checkpoint</c>).
/// The position only moves forward, over records whose delivery reports came in; it is written after
/// the reports it covers, at most every <c>Kafka:CheckpointInterval</c> while records flow (and at once
/// at a segment's end, before the segment is retired). Acknowledged records not yet persisted would be
/// sent again after a crash, so the owner counts them against the silo's record budget until then.
/// <paramref name="beforeWrite"/> (the directory's audit) is written before each checkpoint, so the
/// acknowledged position the audit keeps is never behind the checkpoint's.
/// </summary>
internal sealed class Checkpointer(string directory, bool fsync, TimeSpan interval, TimeProvider time, Action? beforeWrite = null)
{
    private readonly CheckpointFile _file = new(directory);
    private long _persistedAt = long.MinValue;

    /// <summary>Every record before this position is acknowledged by Kafka.</summary>
    public Checkpoint Acked { get; private set; }

    /// <summary>The position last written to disk.</summary>
    public Checkpoint Persisted { get; private set; }

    /// <summary>Records acknowledged since the last write.</summary>
    public int Unpersisted { get; private set; }

    /// <summary>Loads the saved position, or starts at <paramref name="start"/> (the oldest segment on disk) when there is none or it is unreadable.</summary>
    public Checkpoint Load(Checkpoint start, out bool unreadable, out bool saved)
    {
        var loaded = _file.Load(out unreadable);
        saved = loaded is not null;
        Acked = Persisted = loaded ?? start;
        Unpersisted = 0;
        return Acked;
    }

    /// <summary>Moves the position forward over reaped records (<paramref name="records"/> of them counted toward the next write).</summary>
    public void Advance(Checkpoint to, int records)
    {
        if (to.CompareTo(Acked) > 0)
        {
            Acked = to;
        }

        Unpersisted += records;
    }

    /// <summary>Whether the interval since the last write has passed (or nothing was written yet).</summary>
    public bool IsDue => _persistedAt == long.MinValue || time.GetElapsedTime(_persistedAt) >= interval;

    /// <summary>When the next write is due while records wait to be persisted, or null.</summary>
    public TimeSpan? DueIn => Acked.CompareTo(Persisted) > 0 && !IsDue ? interval - time.GetElapsedTime(_persistedAt) : null;

    /// <summary>Writes the position if it moved and (unless <paramref name="force"/>) the interval has passed. Returns the records it covered newly.</summary>
    public int Persist(bool force)
    {
        if (Acked.CompareTo(Persisted) <= 0 || (!force && !IsDue))
        {
            return 0;
        }

        beforeWrite?.Invoke();
        _file.Save(Acked, fsync);
        Persisted = Acked;
        var covered = Unpersisted;
        Unpersisted = 0;
        _persistedAt = time.GetTimestamp();
        return covered;
    }
}
