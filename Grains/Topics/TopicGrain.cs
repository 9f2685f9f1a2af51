using Ingest.Configuration;
using Ingest.Archive;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Hosting;
using Ingest.Options;
using Ingest.Records;
using Ingest.Rotation;
using Ingest.Segments;
using Ingest.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Ingest.Topics;

/// <summary>
/// The only writer of its topic's active segment on this silo. Appends are group-committed: calls are
/// allowed to interleave (<see cref="ReentrantAttribute"/>) only so that appends arriving while a commit
/// waits for its fsync join the next commit; each commit is one gathered write (and one fsync under
/// Fsync durability), and every append in it gets the commit's result. All state is touched on the
/// activation's turn, so no locks are needed.
/// <para>Rotation (see <see cref="RotationPolicy"/>): size is checked after each commit, age and the UTC
/// day before each write, and an idle segment is sealed by a grain timer at its deadline, backed by a
/// durable reminder (<c>Ingest:RotationReminderPeriod</c>) that the grain drops once it has been idle for a
/// whole period. A seal requested while a commit is in flight waits for that commit, so a record is
/// never split from its commit nor written to a sealed file.</para>
/// </summary>
[GrainType("ingest.topic")]
[Reentrant]
[TopicShardPlacement]
internal sealed class TopicGrain(
    SegmentStore store,
    DiskBudget budget,
    IngestInstruments instruments,
    ILogger<TopicGrain> logger,
    [FromKeyedServices(IngestClock.ServiceKey)] TimeProvider clock,
    TimeProvider time,
    IOptions<IngestOptions> options,
    ISegmentEvents events,
    SegmentArchive archive,
    LiveConfig config,
    AppendCounts appendCounts,
    IServiceProvider services) : Grain, ITopicGrain, IRemindable
{
    private const string RotationReminder = "ingest.rotate";

    private readonly IFileFaults? _faults = services.GetService<IFileFaults>();
    private readonly IngestOptions _defaults = options.Value;
    private readonly TimeSpan _reminderPeriod = options.Value.RotationReminderPeriod;
    private readonly List<ReadOnlyMemory<byte>> _parts = [];
    private List<PendingAppend> _waiting = [];
    private List<PendingAppend> _committing = [];
    private bool _commitLoopRunning;
    private string _topic = string.Empty;
    private string _topicName = string.Empty;
    private TopicSegments? _segments;
    private ActiveSegment? _active;
    private KeyValuePair<string, object?> _topicTag;
    private AppendCount? _appended;
    private IGrainTimer? _rotationTimer;
    private IGrainTimer? _idleTimer;
    private Task<IGrainReminder?>? _reminderRegistration;
    private long _lastAppend;
    private bool _reminderRegistered;
    private bool _appendedSinceTick;
    private SealReason? _sealAfterCommit;

    /// <summary>The rotation limits in force: the topic's overrides in the cluster configuration, else the silo's options.</summary>
    private RotationPolicy Policy
    {
        get
        {
            var topic = config.Current.SettingsOf(_topicName);
            return new RotationPolicy(
                topic?.RotateAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : _defaults.RotateAfter,
                topic?.MaxSegmentBytes ?? _defaults.MaxSegmentBytes);
        }
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _topic = this.GetPrimaryKeyString();
        if (!TopicShards.TryParse(_topic, out _topicName, out _))
        {
            throw new ArgumentException($"'{_topic}' is not a valid topic name or topic shard key.");
        }

        _topicTag = instruments.TagFor(_topic);
        _appended = appendCounts.For(_topic);
        _segments = store.OpenTopic(_topic);
        _lastAppend = time.GetTimestamp();
        events.Changed(_topic); // opening may have recovered and sealed a segment an earlier activation left open
        _idleTimer = this.RegisterGrainTimer(
            _ => LetGoIfIdleAsync(),
            new GrainTimerCreationOptions { DueTime = _defaults.IdleTopicAfter, Period = _defaults.IdleTopicAfter, Interleave = true });
        return Task.CompletedTask;
    }

    /// <summary>
    /// No append for <c>Ingest:IdleTopicAfter</c>: seal what is written (so it ships and the file closes),
    /// drop the rotation reminder (nothing is left to rotate) and deactivate. The next append activates
    /// the grain again and opens a new segment.
    /// </summary>
    private async Task LetGoIfIdleAsync()
    {
        if (_commitLoopRunning || _waiting.Count > 0 || time.GetElapsedTime(_lastAppend) < _defaults.IdleTopicAfter)
        {
            return;
        }

        SealActive(SealReason.Idle);
        await ForgetReminderAsync();
        this.DeactivateOnIdle();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _rotationTimer?.Dispose();
        _idleTimer?.Dispose();
        SealActive(SealReason.Deactivation);
        return Task.CompletedTask;
    }

    /// <summary>The durable check: seals a segment past its deadline; forgets itself once the topic is idle.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RotationReminder)
        {
            return;
        }

        instruments.RotationChecks.Add(1, _topicTag);
        SealIfDue();
        if (_active is null && !_appendedSinceTick && !_commitLoopRunning)
        {
            // Idle for a whole period with nothing open: the next segment registers it again.
            await ForgetReminderAsync();
        }

        _appendedSinceTick = false;
    }

    /// <summary>Unregisters the rotation reminder; one still being registered is waited for first, so none is left behind.</summary>
    private async Task ForgetReminderAsync()
    {
        _reminderRegistered = false;
        var registration = _reminderRegistration;
        _reminderRegistration = null;
        try
        {
            var reminder = (registration is null ? null : await registration) ?? await this.GetReminder(RotationReminder);
            if (reminder is not null)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (Exception e)
        {
            StorageLog.RotationReminderFailed(logger, e, _topic);
        }
    }

    public ValueTask<AppendResult> Append(AppendBatch batch)
    {
        var bytes = batch.Frames.Length;
        if (batch.RecordCount <= 0 || RecordFrame.CountValidFrames(batch.Frames.Span) != batch.RecordCount)
        {
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.InvalidFrames)));
            return new(new AppendResult(AppendStatus.InvalidFrames, "the batch is not a sequence of valid frames"));
        }

        if (!budget.TryReserve(bytes, out var reason) && (archive.Evict(bytes) == 0 || !budget.TryReserve(bytes, out reason)))
        {
            // Archived segments went first (oldest first); what is left is unshipped and never deleted.
            // Seal what is written so the forwarder can ship it and free its space; new appends get
            // 503 until it has.
            RequestSeal(SealReason.DiskFull);

            StorageLog.DiskBudgetExhausted(logger, _topic, reason);
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.DiskFull)));
            return new(new AppendResult(AppendStatus.DiskFull, reason));
        }

        _appendedSinceTick = true;
        _lastAppend = time.GetTimestamp();
        var pending = new PendingAppend(batch);
        _waiting.Add(pending);
        if (!_commitLoopRunning)
        {
            _ = CommitLoopAsync();
        }

        return new(pending.Completion.Task);
    }

    private async Task CommitLoopAsync()
    {
        _commitLoopRunning = true;
        try
        {
            while (_waiting.Count > 0)
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
            _commitLoopRunning = false;
        }

        if (_sealAfterCommit is { } reason)
        {
            _sealAfterCommit = null;
            SealActive(reason);
        }
    }

    /// <summary>One write (and fsync) for every append in <paramref name="group"/>.</summary>
    private async ValueTask<AppendResult> CommitAsync(List<PendingAppend> group)
    {
        long bytes = 0;
        var records = 0;
        _parts.Clear();
        foreach (var pending in group)
        {
            _parts.Add(pending.Batch.Frames);
            bytes += pending.Batch.Frames.Length;
            records += pending.Batch.RecordCount;
        }

        try
        {
            if (_active is not null && Policy.DueByTime(_active.CreatedUnixMs, clock.GetUtcNow()) is { } due)
            {
                // Exact: no record of a new day (or past the age limit) joins the old segment.
                SealActive(due);
            }

            _active ??= OpenSegment();
            _active.Append(_parts, bytes);
            if (store.Fsync)
            {
                var segment = _active;
                await Task.Run(segment.FlushToDisk);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not written, or written and cut back again after a failed fsync: the bytes are not on disk.
            budget.Release(bytes);

            StorageLog.AppendFailed(logger, e, _topic, _active?.Path, records);
            instruments.AppendsRefused.Add(group.Count, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.WriteFailed)));
            SealActive(SealReason.WriteFailed);
            return new AppendResult(AppendStatus.WriteFailed, "the segment could not be written: " + e.Message);
        }
        finally
        {
            _parts.Clear();
        }

        _appended!.Add(records);
        instruments.RecordsAppended.Add(records, _topicTag);
        instruments.BytesAppended.Add(bytes, _topicTag);
        instruments.GroupCommits.Add(1, _topicTag);
        events.Appended(_topic, _active.Sequence, _active.Length);
        if (Policy.DueBySize(_active.Length))
        {
            SealActive(SealReason.Size);
        }

        return AppendResult.Appended;
    }

    private ActiveSegment OpenSegment()
    {
        var path = _segments!.NextActivePath();
        var segment = ActiveSegment.Create(path, clock.GetUtcNow().ToUnixTimeMilliseconds(), store.Fsync, _faults);
        StorageLog.SegmentCreated(logger, path);
        ArmRotationTimer(segment);
        if (!_reminderRegistered)
        {
            _reminderRegistered = true;
            _reminderRegistration = RegisterReminderAsync(); // not awaited: no append waits for the reminder table
        }

        return segment;
    }

    private void ArmRotationTimer(ActiveSegment segment)
    {
        _rotationTimer?.Dispose();
        var due = Policy.Deadline(segment.CreatedUnixMs) - clock.GetUtcNow();
        _rotationTimer = this.RegisterGrainTimer(
            _ =>
            {
                SealIfDue();
                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions { DueTime = due > TimeSpan.Zero ? due : TimeSpan.Zero, Period = Timeout.InfiniteTimeSpan, Interleave = true });
    }

    private async Task<IGrainReminder?> RegisterReminderAsync()
    {
        try
        {
            return await this.RegisterOrUpdateReminder(RotationReminder, _reminderPeriod, _reminderPeriod);
        }
        catch (Exception e)
        {
            _reminderRegistered = false;
            StorageLog.RotationReminderFailed(logger, e, _topic);
            return null;
        }
    }

    /// <summary>From the timer or the reminder: seals the active segment if time says so, else re-arms the timer.</summary>
    private void SealIfDue()
    {
        if (_active is not { } active)
        {
            return;
        }

        if (Policy.DueByTime(active.CreatedUnixMs, clock.GetUtcNow()) is { } reason)
        {
            RequestSeal(reason);
        }
        else
        {
            ArmRotationTimer(active);
        }
    }

    /// <summary>Seals now, or right after the commit in flight (never under a write or fsync).</summary>
    private void RequestSeal(SealReason reason)
    {
        if (_commitLoopRunning)
        {
            _sealAfterCommit ??= reason;
        }
        else
        {
            SealActive(reason);
        }
    }

    private void SealActive(SealReason reason)
    {
        var active = _active;
        if (active is null)
        {
            return;
        }

        _active = null;
        try
        {
            var sealedPath = active.Seal();
            instruments.SegmentsSealed.Add(1, _topicTag, new(IngestInstruments.ReasonTag, reason.ToString()));
            StorageLog.SegmentSealed(logger, sealedPath, active.Length, reason);
            events.Sealed(_topic, active.Sequence, active.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file stays .active; the next silo start recovers and seals it.
            active.Dispose();
            StorageLog.AppendFailed(logger, e, _topic, active.Path, 0);
        }
    }

    private sealed class PendingAppend(AppendBatch batch)
    {
        public AppendBatch Batch { get; } = batch;

        public TaskCompletionSource<AppendResult> Completion { get; } = new();
    }
}
