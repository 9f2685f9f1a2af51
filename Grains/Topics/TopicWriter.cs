using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Records;
using Ingest.Rotation;
using Ingest.Segments;
using Ingest.Storage;
using Microsoft.Extensions.Logging;

namespace Ingest.Topics;

/// <summary>
/// The writing half of a topic grain, without Orleans: the group commit, the active segment, and when it
/// is sealed. Appends that arrive while a commit waits for its write (and fsync) join the next commit;
/// each commit is one gathered write (and one fsync under Fsync durability), and every append in it gets
/// the commit's result. Before a write, a segment past its age or UTC day is sealed (no record of a new
/// day joins the old one); after it, a segment at its size limit (the segment itself: <see cref="SegmentSlot"/>). A seal asked for while a commit is in
/// flight waits for that commit. The grain calls it on its activation's turn only; the one call from
/// another thread is <see cref="Close"/> (a silo leaving the cluster), which <c>_gate</c> orders against the
/// start and end of a commit and against seals (never taken per append).
/// </summary>
internal sealed class TopicWriter
{
    private readonly string _topic;
    private readonly SegmentSlot _slot;
    private readonly TopicWriters _shared;
    private readonly Func<RotationPolicy> _policy;
    private readonly KeyValuePair<string, object?> _topicTag;
    private readonly AppendCount _appended;
    private readonly Audit.TopicAudit _audit;
    private readonly List<ReadOnlyMemory<byte>> _parts = [];
    private List<PendingAppend> _waiting = [];
    private List<PendingAppend> _committing = [];
    private readonly Lock _gate = new();
    private SealReason? _sealAfterCommit;
    private bool _closed;

    /// <param name="opened">Called with each segment this writer opens (the grain arms its rotation timer).</param>
    public TopicWriter(string topic, TopicSegments segments, TopicWriters shared, Func<RotationPolicy> policy, Action<ActiveSegment> opened)
    {
        _topic = topic;
        _shared = shared;
        _policy = policy;
        _topicTag = shared.Instruments.TagFor(topic);
        _slot = new SegmentSlot(topic, segments, shared, _topicTag, opened, this);
        _appended = shared.AppendCounts.For(topic);
        _audit = shared.Audit.For(topic, segments.Directory);
    }

    /// <summary>The topic's segment directory on this silo.</summary>
    public string Directory => _slot.Directory;

    /// <summary>The segment appends go to now, or null between segments.</summary>
    public ActiveSegment? Active => _slot.Active;

    /// <summary>Whether a commit is in flight or appends wait for one.</summary>
    public bool Busy { get; private set; }

    /// <summary>Checks the frames, takes their room on disk (evicting archived segments if needed) and queues them for the next commit.</summary>
    public ValueTask<AppendResult> Append(AppendBatch batch) => Queue(batch, fsync: false, out var refused) is { } pending ? new(pending.Completion.Task) : new(refused);

    /// <summary>
    /// Like <see cref="Append(AppendBatch)"/>; <paramref name="fsync"/> makes the commit it joins fsync (on a Flush node), and the
    /// answer says where the batch's frames begin in which segment (for a wait on Kafka's acknowledgement).
    /// </summary>
    public async ValueTask<Placed> AppendPlaced(AppendBatch batch, bool fsync)
    {
        if (Queue(batch, fsync, out var refused) is not { } pending)
        {
            return new Placed(refused, -1, -1);
        }

        var result = await pending.Completion.Task;
        return new Placed(result, pending.Segment, pending.Start);
    }

    /// <summary>Where an append's frames went: segment <paramref name="Segment"/>, from byte <paramref name="Start"/> on.</summary>
    public readonly record struct Placed(AppendResult Result, long Segment, long Start);

    /// <summary>The append queued for the next commit, or null and why it was <paramref name="refused"/>.</summary>
    private PendingAppend? Queue(AppendBatch batch, bool fsync, out AppendResult refused)
    {
        refused = default;
        var bytes = batch.Frames.Length;
        var instruments = _shared.Instruments;
        if (batch.RecordCount <= 0 || RecordFrame.CountValidFrames(batch.Frames.Span) != batch.RecordCount)
        {
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.InvalidFrames)));
            refused = new AppendResult(AppendStatus.InvalidFrames, "the batch is not a sequence of valid frames");
            return null;
        }

        if (_shared.Closed is { } closed)
        {
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.Unavailable)));
            refused = new AppendResult(AppendStatus.Unavailable, closed);
            return null;
        }

        if (!_shared.Room.TryTake(bytes, out var reason))
        {
            // What is left is unshipped and never deleted. Seal what is written so the forwarder can ship
            // it and free its space; new appends get 503 until it has.
            RequestSeal(SealReason.DiskFull);
            StorageLog.DiskBudgetExhausted(_shared.Logger, _topic, reason);
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.DiskFull)));
            refused = new AppendResult(AppendStatus.DiskFull, reason);
            return null;
        }

        var pending = new PendingAppend(batch, fsync);
        _waiting.Add(pending);
        if (!Busy)
        {
            _ = CommitLoopAsync();
        }

        return pending;
    }

    /// <summary>From a timer or the reminder: seals the active segment if its time is up. Returns the segment still open (to re-arm a timer for), or null.</summary>
    public ActiveSegment? SealIfDue()
    {
        if (Active is not { } active)
        {
            return null;
        }

        if (_policy().DueByTime(active.CreatedUnixMs, _shared.Clock.GetUtcNow()) is { } reason)
        {
            RequestSeal(reason);
            return null;
        }

        return active;
    }

    /// <summary>Seals now, or right after the commit in flight (never under a write or fsync).</summary>
    public void RequestSeal(SealReason reason)
    {
        lock (_gate)
        {
            if (Busy)
            {
                _sealAfterCommit ??= reason;
            }
            else
            {
                Seal(reason);
            }
        }
    }

    /// <summary>
    /// The silo leaves the cluster (any thread): nothing more is written, and the open segment is sealed now,
    /// or right after the commit in flight.
    /// </summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            if (Busy)
            {
                _sealAfterCommit = SealReason.Leaving;
            }
            else
            {
                Seal(SealReason.Leaving);
            }
        }
    }

    /// <summary>Seals the active segment now (the grain is idle or deactivating: no commit is in flight).</summary>
    public void Seal(SealReason reason)
    {
        lock (_gate)
        {
            _slot.Seal(reason);
        }
    }

    private async Task CommitLoopAsync()
    {
        lock (_gate)
        {
            if (_closed || _shared.Closed is not null)
            {
                RefuseWaiting();
                return;
            }

            Busy = true;
        }

        try
        {
            while (_waiting.Count > 0 && !Volatile.Read(ref _closed))
            {
                (_waiting, _committing) = (_committing, _waiting);
                var result = await CommitAsync(_committing);
                foreach (var pending in _committing)
                {
                    pending.Completion.SetResult(result);
                }

                _committing.Clear();
            }
        }
        finally
        {
            lock (_gate)
            {
                if (_sealAfterCommit is { } reason)
                {
                    _sealAfterCommit = null;
                    _slot.Seal(reason);
                }

                if (_closed)
                {
                    RefuseWaiting();
                }

                Busy = false;
            }
        }
    }

    /// <summary>Closed while appends waited for a commit: they are not written, and get 503 (their room on disk is given back).</summary>
    private void RefuseWaiting()
    {
        var reason = _shared.Closed ?? "this silo is leaving the cluster";
        foreach (var pending in _waiting)
        {
            _shared.Room.Release(pending.Batch.Frames.Length);
            _shared.Instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.Unavailable)));
            pending.Completion.SetResult(new AppendResult(AppendStatus.Unavailable, reason));
        }

        _waiting.Clear();
    }

    /// <summary>One write (and fsync) for every append in <paramref name="group"/>.</summary>
    private async ValueTask<AppendResult> CommitAsync(List<PendingAppend> group)
    {
        long bytes = 0;
        var records = 0;
        var fsync = _shared.Fsync;
        _parts.Clear();
        foreach (var pending in group)
        {
            _parts.Add(pending.Batch.Frames);
            bytes += pending.Batch.Frames.Length;
            records += pending.Batch.RecordCount;
            fsync |= pending.Fsync;
        }

        var instruments = _shared.Instruments;
        var policy = _policy(); // the topic's limits, looked up once per commit
        using var span = IngestTracing.On ? PendingAppend.CommitSpan(_topic, group, records, bytes, fsync) : null;
        ActiveSegment active;
        try
        {
            if (Active is not null && policy.DueByTime(Active.CreatedUnixMs, _shared.Clock.GetUtcNow()) is { } due)
            {
                // Exact: no record of a new day (or past the age limit) joins the old segment.
                Seal(due);
            }

            active = _slot.OpenIfNone();
            var at = active.Length;
            foreach (var pending in group)
            {
                pending.Segment = active.Sequence;
                pending.Start = at;
                at += pending.Batch.Frames.Length;
            }

            span?.SetTag(IngestTracing.Tags.Segment, active.Path);
            var writing = _shared.Clock.GetTimestamp();
            active.Append(_parts, bytes);
            if (fsync)
            {
                await Task.Run(active.FlushToDisk);
            }

            instruments.CommitDuration.Record(_shared.Clock.GetElapsedTime(writing).TotalSeconds, _topicTag, fsync ? IngestInstruments.Synced : IngestInstruments.Unsynced);

            _audit.Accepted(_parts, active.Sequence, active.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not written, or written and cut back again after a failed fsync: the bytes are not on disk.
            _shared.Room.Release(bytes);
            StorageLog.AppendFailed(_shared.Logger, e, _topic, Active?.Path, records);
            instruments.AppendsRefused.Add(group.Count, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.WriteFailed)));
            Seal(SealReason.WriteFailed);
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message);
            return new AppendResult(AppendStatus.WriteFailed, "the segment could not be written: " + e.Message);
        }
        finally
        {
            _parts.Clear();
        }

        _appended.Add(records);
        instruments.RecordsAppended.Add(records, _topicTag);
        instruments.BytesAppended.Add(bytes, _topicTag);
        instruments.GroupCommits.Add(1, _topicTag);
        _shared.Events.Appended(_topic, active.Sequence, active.Length);
        _audit.WriteSoonIfDue(); // on the thread pool: no answer waits for the audit's write (and fsync)
        if (policy.DueBySize(active.Length))
        {
            Seal(SealReason.Size);
        }

        return fsync ? FsyncedResult : AppendResult.Appended;
    }

    private static readonly AppendResult FsyncedResult = new(AppendStatus.Appended, Level: DurabilityLevel.Fsync);
}
