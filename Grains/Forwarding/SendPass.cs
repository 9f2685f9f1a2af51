using Ingest.Diagnostics;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Forwarding;

/// <summary>
/// The sending part of a <see cref="TopicLog"/>'s turn: reads on from the log's position and hands each
/// record inside the log's <see cref="ShipWindow"/> to the silo's sender, entering it in the
/// <see cref="AckWindow"/> first — until nothing whole is left to read, the turn's share is used, the
/// silo's <see cref="InFlightBudget"/> is spent (the log is woken when it comes back), the producer's
/// queue is full, or the producer was replaced under records still in flight.
/// </summary>
internal sealed class SendPass
{
    private readonly ShippingContext _context;
    private readonly SegmentFeed _feed;
    private readonly AckWindow _window;
    private readonly ShipWindow _shipWindow;
    private readonly Action _wake;
    private readonly BudgetPass _pass = new();
    private readonly Audit.TopicAudit? _audit;
    private readonly Audit.RecordIdentity? _identity;
    private long _lastSentAt;

    /// <param name="progress">The log's audit (records sent again are counted in it) and how its records are named.</param>
    public SendPass(ShippingContext context, SegmentFeed feed, AckWindow window, ShipWindow shipWindow, Action wake, TopicProgress progress)
    {
        _context = context;
        _feed = feed;
        _window = window;
        _shipWindow = shipWindow;
        _wake = wake;
        _audit = progress.Audit;
        _identity = progress.Identity;
    }

    /// <summary>This log's place with the silo's budget; its turn gives it back (<see cref="InFlightBudget.EndTurn"/>).</summary>
    public BudgetPass Pass => _pass;

    /// <summary>When a record was last sent (a timestamp), or 0.</summary>
    public long LastSentAt => Volatile.Read(ref _lastSentAt);

    /// <summary>One pass to <paramref name="kafkaTopic"/>; the read handle is released for the maintenance pass afterwards.</summary>
    public FillEnd Run(string kafkaTopic)
    {
        try
        {
            return Send(kafkaTopic);
        }
        finally
        {
            _feed.EndReading();
        }
    }

    private FillEnd Send(string kafkaTopic)
    {
        // Records before where sending had got to are sent again (after a rewind or a restart): counted per hour.
        var sentThrough = _audit?.SentThrough ?? default;
        var reached = sentThrough;
        Dictionary<long, long>? again = null;
        try
        {
            return Send(kafkaTopic, sentThrough, ref reached, ref again);
        }
        finally
        {
            _audit?.Sent(reached, again);
        }
    }

    private FillEnd Send(string kafkaTopic, Checkpoint sentThrough, ref Checkpoint reached, ref Dictionary<long, long>? again)
    {
        var settings = _context.Settings;
        var now = _context.Time.GetTimestamp();
        var records = 0;
        long bytes = 0;
        while (true)
        {
            switch (_feed.Next(now, out var record, out var size, out var end))
            {
                case FeedStep.Caught:
                    return FillEnd.Caught;
                case FeedStep.SegmentEnd:
                    _window.AddSegmentEnd(_feed.Ended.Segment, _feed.Ended.Offset);
                    continue;
            }

            if (!_shipWindow.Contains(record.TimestampMs))
            {
                _window.AddSkipped(_feed.Segment, end, size);
                _feed.Take(end);
                continue;
            }

            if (records >= settings.RecordsPerTurn || bytes >= settings.BytesPerTurn)
            {
                return FillEnd.TurnUsed;
            }

            var generation = _context.Sender.Generation;
            if (!_window.Accepts(generation))
            {
                return FillEnd.ProducerReplaced; // the next turn waits out the old producer, then resends
            }

            if (!_context.Budget.TryTake(size, _pass))
            {
                _context.Budget.WhenAvailable(_pass, _wake);
                return FillEnd.Budget;
            }

            var entry = _window.AddRecord(_feed.Segment, end, size, record.TimestampMs, generation);
            if (!record.Headers.IsEmpty && IngestTracing.On)
            {
                entry.Trace = TraceOf(record);
            }

            switch (_context.Sender.Send(kafkaTopic, record, entry, _identity?.Of(_feed.Segment, end)))
            {
                case SendOutcome.QueueFull:
                    _window.Unsend();
                    _context.Budget.ReleaseBytes(size);
                    _context.Budget.ReleaseRecords(1);
                    return FillEnd.QueueFull;
                case SendOutcome.Failed:
                    _feed.Take(end);
                    return FillEnd.Caught; // the failed entry makes the next turn recover
            }

            var position = new Checkpoint(_feed.Segment, end);
            if (position.CompareTo(sentThrough) <= 0)
            {
                again ??= [];
                var hour = Audit.AuditClock.HourOf(record.TimestampMs);
                again[hour] = again.GetValueOrDefault(hour) + 1;
            }
            else
            {
                reached = position;
            }

            _feed.Take(end);
            if (records++ == 0)
            {
                Volatile.Write(ref _lastSentAt, now);
            }

            bytes += size;
        }
    }

    /// <summary>The record's stored <c>traceparent</c>, for the delivery span to link to; null without one.</summary>
    private SentTrace? TraceOf(in RecordView record)
    {
        return record.Headers.TryGet(FrameHeaders.TraceParentUtf8, out var stored)
            && IngestTracing.TryParse(System.Text.Encoding.ASCII.GetString(stored), out var context)
                ? new SentTrace(context, _context.Time.GetUtcNow())
                : null;
    }
}

/// <summary>Why a <see cref="SendPass"/> stopped.</summary>
internal enum FillEnd
{
    /// <summary>Nothing whole left to read now.</summary>
    Caught,

    /// <summary>The turn's share is sent; more is waiting.</summary>
    TurnUsed,

    /// <summary>The silo's budget is spent; the log waits to be woken.</summary>
    Budget,

    /// <summary>The producer's queue is full.</summary>
    QueueFull,

    /// <summary>The producer was replaced while records sent with the old one wait for reports.</summary>
    ProducerReplaced,
}
