using Ingest.Segments;

namespace Ingest.Audit;

/// <summary>
/// The acknowledgements of one reap, counted without a lock by the topic log that reaps and handed to its
/// <see cref="TopicAudit"/> in one step (<see cref="TopicAudit.EndAcks"/>): a record at or before the audit's
/// acknowledged position when the reap began was counted before (a resend) and is left out.
/// </summary>
internal sealed class AckTally
{
    private readonly Dictionary<long, AuditRow> _rows = [];
    private Checkpoint _countedThrough;
    private long _hour = long.MinValue;
    private AuditRow? _row;

    public Checkpoint Through { get; private set; }

    public IReadOnlyDictionary<long, AuditRow> Rows => _rows;

    public bool IsEmpty => _rows.Count == 0;

    public void Begin(Checkpoint countedThrough)
    {
        _rows.Clear();
        _countedThrough = Through = countedThrough;
        _hour = long.MinValue;
        _row = null;
    }

    public void Add(long segment, long end, long timestampMs, int partition, long offset)
    {
        var at = new Checkpoint(segment, end);
        if (at.CompareTo(_countedThrough) <= 0)
        {
            return;
        }

        var hour = AuditClock.HourOf(timestampMs);
        if (hour != _hour || _row is null)
        {
            _hour = hour;
            if (!_rows.TryGetValue(hour, out _row))
            {
                _rows[hour] = _row = new AuditRow();
            }
        }

        _row.Delivered(partition, offset);
        Through = at;
    }
}
