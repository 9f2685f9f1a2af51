namespace Ingest.Rotation;

/// <summary>Why a segment was sealed.</summary>
internal enum SealReason
{
    /// <summary>It reached <c>Ingest:MaxSegmentBytes</c> (checked after each commit).</summary>
    Size,

    /// <summary>Its first record is older than <c>Ingest:RotateAfter</c>.</summary>
    Age,

    /// <summary>The UTC day changed since its first record.</summary>
    DayChange,

    /// <summary>The disk budget is exhausted: what is written is sealed so it can be shipped.</summary>
    DiskFull,

    /// <summary>A write failed; the segment was cut back to its last commit.</summary>
    WriteFailed,

    /// <summary>The topic grain deactivated (the silo is shutting down, or Orleans collected it).</summary>
    Deactivation,

    /// <summary>No append for <c>Ingest:IdleTopicAfter</c>: the grain lets go of its file and deactivates.</summary>
    Idle,

    /// <summary>The silo leaves the cluster for good (it was declared dead): see <c>Membership/SiloRemoval</c>.</summary>
    Leaving,

    /// <summary>The silo is drained: the topic moves to another silo (see <c>Hosting/NodeDrain</c>).</summary>
    HandOver,
}

/// <summary>
/// When a segment must be sealed: at <c>Ingest:MaxSegmentBytes</c>, once it is <c>Ingest:RotateAfter</c>
/// old, or when the UTC day changes, so every segment holds records of one UTC day only.
/// </summary>
internal readonly record struct RotationPolicy(TimeSpan RotateAfter, long MaxSegmentBytes)
{
    /// <summary>The moment a segment created at <paramref name="createdMs"/> must be sealed, whatever its size.</summary>
    public DateTimeOffset Deadline(long createdMs)
    {
        var created = DateTimeOffset.FromUnixTimeMilliseconds(createdMs);
        var nextDay = new DateTimeOffset(created.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var aged = created + RotateAfter;
        return aged < nextDay ? aged : nextDay;
    }

    /// <summary>Whether time alone requires sealing a segment created at <paramref name="createdMs"/>, and why.</summary>
    public SealReason? DueByTime(long createdMs, DateTimeOffset now)
    {
        var created = DateTimeOffset.FromUnixTimeMilliseconds(createdMs);
        if (now.UtcDateTime.Date != created.UtcDateTime.Date)
        {
            return SealReason.DayChange;
        }

        return now - created >= RotateAfter ? SealReason.Age : null;
    }

    public bool DueBySize(long length) => length >= MaxSegmentBytes;
}
