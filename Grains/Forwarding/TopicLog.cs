using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.Segments;

namespace Ingest.Forwarding;

/// <summary>
/// One topic directory of this silo (a topic, a shard of one, or a replay job) and how far it is
/// shipped. Between turns it is a small record: its position, its counters and the segments it knows;
/// no buffer, no timer and — once idle — no open file. The <see cref="ForwardingScheduler"/> gives it a
/// turn (<see cref="Serve"/>) when something happened: records were appended or a segment sealed,
/// reports came in, a back-off or checkpoint deadline passed, or budget came back.
/// <para>A turn: take the acknowledged prefix off the <see cref="AckWindow"/> (<see cref="AckReaper"/>: the checkpoint
/// moves over it; a fully acknowledged sealed segment is retired); after a failed report, wait for the reports in
/// flight, then rewind to the checkpoint and back off; else read on from the read position and send,
/// within the silo's <see cref="InFlightBudget"/> and one turn's share. Only one turn of a topic runs at
/// a time, so nothing here needs a lock but what status readers share.</para>
/// </summary>
internal sealed class TopicLog
{
    private readonly ShippingContext _context;
    private readonly Func<string> _kafkaTopicOf;
    private readonly AckWindow _window;
    private readonly Checkpointer _checkpoint;
    private readonly TopicProgress _progress;
    private readonly Action? _finished;
    private readonly SegmentFeed _feed;
    private readonly SendPass _send;
    private readonly AckReaper _reaper;
    private RetryBackoff _backoff;
    private bool _initialized;
    private bool _reload;
    private string _kafkaTopic = string.Empty;
    private long _retryAt;
    private long _replacedSince;

    /// <param name="finished">
    /// For a replay job's directory, which only holds links to ship once: called when none is left and all is
    /// acknowledged; the log is then done for good.
    /// </param>
    public TopicLog(string topic, string directory, Func<string> kafkaTopicOf, Func<string, bool> retire, ShippingContext context, TopicProgress progress, ShipWindow window = default, Action? finished = null)
    {
        Topic = topic;
        _finished = finished;
        Directory = directory;
        _kafkaTopicOf = kafkaTopicOf;
        _context = context;
        _progress = progress;
        Window = window;
        Segments = new KnownSegments(directory);
        _feed = new SegmentFeed(Segments, topic, context);
        _window = new AckWindow(context.Pool, () => Wake?.Invoke(this));
        _send = new SendPass(context, _feed, _window, window, () => Wake?.Invoke(this), progress);
        _checkpoint = new Checkpointer(directory, context.Settings.Fsync, context.Settings.CheckpointInterval, context.Time, progress.Audit is { } audit ? audit.Persist : null);
        _backoff = new RetryBackoff(context.Settings.MaxRetryBackoff);
        _reaper = new AckReaper(topic, _window, _checkpoint, progress, Segments, retire, context);
    }

    public string Topic { get; }

    public string Directory { get; }

    /// <summary>The Kafka topic records go to now.</summary>
    public string KafkaTopic => _initialized ? Volatile.Read(ref _kafkaTopic) : _kafkaTopicOf();

    /// <summary>Asks the next turn to read the directory again (something changed that was not signalled, e.g. recovery at activation).</summary>
    public void RequestReload() => Volatile.Write(ref _reload, true);

    /// <summary>The record times this log sends; the default holds every record (a replay ships a window).</summary>
    public ShipWindow Window { get; }

    public KnownSegments Segments { get; }

    public TopicProgress Progress => _progress;

    /// <summary>Asks the scheduler for a turn (set by the scheduler).</summary>
    public Action<TopicLog>? Wake { get; set; }

    /// <summary>The scheduler's state for this log (see <see cref="ForwardingScheduler"/>).</summary>
    internal int ScheduleState;

    /// <summary>The deadline the scheduler holds for this log (a timestamp), or 0.</summary>
    internal long Deadline;

    /// <summary>When the read handle was last used (a timestamp); the engine's maintenance closes idle ones.</summary>
    public long ReaderUsedAt => _feed.UsedAt;

    /// <summary>Whether a read handle is open.</summary>
    public bool HasReader => _feed.IsOpen;

    /// <summary>When this log last sent a record (a timestamp), or 0: which topics the producer knows and still uses.</summary>
    public long LastSentAt => _send.LastSentAt;

    /// <summary>One turn on a scheduler worker; says what the scheduler should do next with this log.</summary>
    public Turn Serve()
    {
        // A pass this log was woken with before the turn is used up by it, sent or not (one given during
        // the turn is for the next: the wake that came with it asks for that turn).
        var hadPass = _send.Pass.Held;
        try
        {
            return ServeOnce();
        }
        finally
        {
            if (hadPass)
            {
                _context.Budget.EndTurn(_send.Pass);
            }
        }
    }

    private Turn ServeOnce()
    {
        var time = _context.Time;
        if (!_initialized)
        {
            Initialize();
        }
        else if (Volatile.Read(ref _reload))
        {
            Volatile.Write(ref _reload, false);
            Segments.Reload();
        }

        Reap();
        if (_window.Failed > 0 || (_window.Pending > 0 && _window.Generation != _context.Sender.Generation))
        {
            return Recover();
        }

        _replacedSince = 0;
        if (_retryAt != 0 && time.GetTimestamp() < _retryAt)
        {
            return Turn.WaitFor(time.GetElapsedTime(time.GetTimestamp(), _retryAt));
        }

        _retryAt = 0;
        var filled = _context.Draining ? FillEnd.Caught : Fill();
        Reap(); // what the fill completed itself: segment ends, records outside a replay's window
        // Written every Kafka:CheckpointInterval, or sooner once it holds an eighth of the silo's record budget:
        // records come back to the budget only when a checkpoint covers them, so the interval alone would cap
        // forwarding at MaxInFlightRecords per interval (100,000 records/s with the defaults).
        _context.Budget.ReleaseRecords(_checkpoint.Persist(force: _checkpoint.Unpersisted >= _context.Budget.MaxRecords / 8));
        _progress.Publish(_checkpoint.Acked, _window.Pending, _window.OldestTimestampMs);
        if (_finished is not null && _window.Count == 0 && Segments.Oldest is null)
        {
            _checkpoint.Persist(force: true);
            CloseReader();
            _finished();
            return Turn.Finished;
        }

        return filled switch
        {
            FillEnd.TurnUsed or FillEnd.ProducerReplaced => Turn.Again,
            FillEnd.QueueFull => Turn.WaitFor(TimeSpan.FromMilliseconds(50)),
            _ => _checkpoint.DueIn is { } due ? Turn.WaitFor(due) : Turn.Idle,
        };
    }

    /// <summary>Stops: what is acknowledged is persisted and the read handle closed. Reports still in flight may arrive later; they change nothing.</summary>
    public void Close()
    {
        _context.Budget.EndTurn(_send.Pass);
        if (_initialized)
        {
            Reap();
            _context.Budget.ReleaseRecords(_checkpoint.Persist(force: true));
        }

        _progress.Audit?.Persist();

        CloseReader();
    }

    /// <summary>Closes the read handle (between turns: the engine's maintenance, through the scheduler, for a handle idle 10 s).</summary>
    public void CloseReader() => _feed.Close();

    private void Initialize()
    {
        Volatile.Write(ref _reload, false);
        Segments.Reload();
        var saved = _checkpoint.Load(new Checkpoint(Segments.Oldest ?? 1, SegmentFile.HeaderSize), out var unreadable, out var found);
        if (unreadable)
        {
            KafkaLog.CheckpointUnreadable(_context.Logger, Topic, Path.Combine(Directory, Checkpoint.FileName));
        }

        if (found)
        {
            // Segments below the checkpoint were shipped; a crash came between the checkpoint and the retirement.
            _reaper.RetireBelow(saved.Segment);

            KafkaLog.Resuming(_context.Logger, Topic, saved.Segment, saved.Offset);
        }

        _feed.Seek(saved);
        _kafkaTopic = _kafkaTopicOf();
        _context.Sender.EnsureTopic(_kafkaTopic);
        _progress.Begin(this, saved);
        _initialized = true;
    }

    /// <summary>Takes the acknowledged prefix off the window (<see cref="AckReaper"/>); a delivery that succeeded ends a back-off.</summary>
    private void Reap()
    {
        if (_reaper.Reap(_kafkaTopic))
        {
            _backoff.Reset();
        }
    }

    /// <summary>After a failed report (or a replaced producer): once no report is pending, rewind to the checkpoint and back off.</summary>
    private Turn Recover()
    {
        var time = _context.Time;
        var replaced = _window.Failed == 0;
        if (_window.Pending > 0)
        {
            if (!replaced)
            {
                return Turn.Idle; // the pending reports wake this log
            }

            // A replaced producer gets its grace to deliver what it holds; past it, its records are resent.
            _replacedSince = _replacedSince == 0 ? time.GetTimestamp() : _replacedSince;
            var waited = time.GetElapsedTime(_replacedSince);
            if (waited < KafkaSender.ReplacedProducerGrace)
            {
                return Turn.WaitFor(KafkaSender.ReplacedProducerGrace - waited);
            }
        }

        var error = _window.LastError;
        _context.Instruments.DeliveryErrors.Add(_window.Failed, _progress.TopicTag);
        var (records, bytes) = _window.Drop();
        _context.Budget.ReleaseBytes(bytes);
        _context.Budget.ReleaseRecords(records);
        _feed.Seek(_checkpoint.Acked);
        _replacedSince = 0;
        var wait = replaced ? TimeSpan.Zero : _backoff.Next();
        if (replaced)
        {
            KafkaLog.ProducerSwitched(_context.Logger, Topic, _checkpoint.Acked.Segment, _checkpoint.Acked.Offset);
        }
        else
        {
            _progress.Failed(error);
            KafkaLog.DeliveryFailed(_context.Logger, Topic, _kafkaTopic, error ?? "unknown error", _checkpoint.Acked.Segment, _checkpoint.Acked.Offset, (long)wait.TotalMilliseconds);
        }

        _retryAt = time.GetTimestamp() + (long)(wait.TotalSeconds * time.TimestampFrequency);
        _progress.Publish(_checkpoint.Acked, 0, null);
        return wait > TimeSpan.Zero ? Turn.WaitFor(wait) : Turn.Again;
    }

    /// <summary>Reads on from the read position and sends, until the turn's share is used or nothing whole is left to read.</summary>
    private FillEnd Fill()
    {
        var kafkaTopic = _kafkaTopicOf();
        if (!string.Equals(kafkaTopic, _kafkaTopic, StringComparison.Ordinal))
        {
            // The topic's Kafka topic changed in the cluster configuration: records not yet sent go there.
            _kafkaTopic = kafkaTopic;
            _context.Sender.EnsureTopic(kafkaTopic);
        }

        return _send.Run(_kafkaTopic);
    }
}
