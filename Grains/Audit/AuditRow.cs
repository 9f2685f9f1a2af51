using Ingest.Topics;

namespace Ingest.Audit;

/// <summary>
/// One UTC hour (by ingest time) of one topic directory: what the topic grain stored, what Kafka acknowledged
/// and where, what was sent a second time. Rows are added to (a delta onto the file's rows), never overwritten.
/// </summary>
internal sealed class AuditRow
{
    /// <summary>Records the topic grain wrote and answered as stored.</summary>
    public long Accepted;

    /// <summary>Records found on disk at a start that no answer was counted for (written just before a crash).</summary>
    public long Recovered;

    /// <summary>Records with a successful delivery report, each position counted once.</summary>
    public long Acked;

    /// <summary>
    /// Records sent to Kafka again, known to have been sent before (after a failed delivery, a replaced producer, or a
    /// restart up to the sent position last written). Not the duplicates: verify counts those in Kafka.
    /// </summary>
    public long SentAgain;

    /// <summary>Per partition, the lowest and highest offset acknowledged for this hour's records.</summary>
    public List<PartitionRange>? Ranges;

    public long Stored => Accepted + Recovered;

    public void Delivered(int partition, long offset)
    {
        Acked++;
        if (partition < 0 || offset < 0)
        {
            return;
        }

        Ranges ??= [];
        for (var i = 0; i < Ranges.Count; i++)
        {
            if (Ranges[i].Partition == partition)
            {
                Ranges[i] = Ranges[i].With(offset, offset);
                return;
            }
        }

        Ranges.Add(new PartitionRange(partition, offset, offset));
    }

    /// <summary>Adds <paramref name="other"/>'s counts and widens the ranges by its ranges.</summary>
    public void Add(AuditRow other)
    {
        Accepted += other.Accepted;
        Recovered += other.Recovered;
        Acked += other.Acked;
        SentAgain += other.SentAgain;
        if (other.Ranges is null)
        {
            return;
        }

        Ranges ??= [];
        foreach (var range in other.Ranges)
        {
            var i = Ranges.FindIndex(r => r.Partition == range.Partition);
            if (i < 0)
            {
                Ranges.Add(range);
            }
            else
            {
                Ranges[i] = Ranges[i].With(range.First, range.Last);
            }
        }
    }

    /// <summary>Adds <paramref name="row"/> to hour <paramref name="hour"/> of <paramref name="hours"/> (a copy of it when the hour is new: the table never shares a row).</summary>
    public static void AddTo(IDictionary<long, AuditRow> hours, long hour, AuditRow row)
    {
        if (!hours.TryGetValue(hour, out var kept))
        {
            hours[hour] = kept = new AuditRow();
        }

        kept.Add(row);
    }

    public AuditHour ToHour(long hour) => new(
        hour * AuditClock.HourMs, Accepted, Stored, Acked, SentAgain,
        Ranges is null ? [] : Ranges.OrderBy(r => r.Partition).Select(r => new AuditOffsets(r.Partition, r.First, r.Last)).ToArray());
}

/// <summary>The lowest and highest Kafka offset one hour's records got in one partition.</summary>
internal readonly record struct PartitionRange(int Partition, long First, long Last)
{
    public PartitionRange With(long first, long last) => new(Partition, Math.Min(First, first), Math.Max(Last, last));
}

/// <summary>Hours are Unix milliseconds divided by an hour: one number per UTC hour.</summary>
internal static class AuditClock
{
    public const long HourMs = 3_600_000;

    public static long HourOf(long unixMs) => Math.DivRem(unixMs, HourMs, out var rest) - (rest < 0 ? 1 : 0);
}
