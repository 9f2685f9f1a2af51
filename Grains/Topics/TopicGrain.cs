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
/// The only writer of its topic's active segment on this silo: the Orleans side of a <see cref="TopicWriter"/>
/// (the group commit and the seal decisions live there). Calls may interleave (<see cref="ReentrantAttribute"/>)
/// only so that appends arriving while a commit waits for its fsync join the next commit; all state is
/// touched on the activation's turn, so no locks are needed.
/// <para>Rotation (see <see cref="RotationPolicy"/>): an idle segment is sealed by a grain timer at its
/// deadline, backed by a durable reminder (<c>Ingest:RotationReminderPeriod</c>) that the grain drops once it
/// has been idle for a whole period. With no append for <c>Ingest:IdleTopicAfter</c> the grain seals its
/// segment and deactivates, so an idle topic holds no file.</para>
/// </summary>
[GrainType("ingest.topic")]
[Reentrant]
[TopicShardPlacement]
internal sealed class TopicGrain(
    TopicWriters writers,
    RequestAppender requests,
    LiveConfig config,
    Membership.IClusterStanding standing,
    IOptions<IngestOptions> options,
    TimeProvider time,
    ILogger<TopicGrain> logger) : Grain, ITopicGrain, IRemindable
{
    private const string RotationReminder = "ingest.rotate";

    private readonly IngestOptions _defaults = options.Value;
    private readonly TimeSpan _reminderPeriod = options.Value.RotationReminderPeriod;
    private string _topic = string.Empty;
    private string _topicName = string.Empty;
    private TopicWriter? _writer;
    private KeyValuePair<string, object?> _topicTag;
    private IGrainTimer? _rotationTimer;
    private IGrainTimer? _idleTimer;
    private Task<IGrainReminder?>? _reminderRegistration;
    private long _lastAppend;
    private bool _reminderRegistered;
    private bool _appendedSinceTick;

    /// <summary>The rotation limits in force: the topic's overrides in the cluster configuration, else the silo's options.</summary>
    private RotationPolicy Policy()
    {
        var topic = config.Current.SettingsOf(_topicName);
        return new RotationPolicy(
            topic?.RotateAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : _defaults.RotateAfter,
            topic?.MaxSegmentBytes ?? _defaults.MaxSegmentBytes);
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _topic = this.GetPrimaryKeyString();
        if (!TopicShards.TryParse(_topic, out _topicName, out _))
        {
            throw new ArgumentException($"'{_topic}' is not a valid topic name or topic shard key.");
        }

        _topicTag = writers.Instruments.TagFor(_topic);
        _writer = writers.Open(_topic, Policy, Opened);
        requests.RecoverOnce(_topic, _writer.Directory); // the keys of the window, after a restart
        _lastAppend = time.GetTimestamp();
        writers.Events.Changed(_topic); // opening may have recovered and sealed a segment an earlier activation left open
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
        if (_writer!.Busy || time.GetElapsedTime(_lastAppend) < _defaults.IdleTopicAfter)
        {
            return;
        }

        _writer.Seal(SealReason.Idle);
        await ForgetReminderAsync();
        this.DeactivateOnIdle();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _rotationTimer?.Dispose();
        _idleTimer?.Dispose();
        _writer?.Seal(SealReason.Deactivation);
        writers.Deactivated(_topic);
        return Task.CompletedTask;
    }

    /// <summary>The durable check: seals a segment past its deadline; forgets itself once the topic is idle.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RotationReminder)
        {
            return;
        }

        writers.Instruments.RotationChecks.Add(1, _topicTag);
        SealIfDue();
        if (_writer!.Active is null && !_appendedSinceTick && !_writer.Busy)
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
        if (standing.Fenced is { } fenced)
        {
            return ValueTask.FromResult(new AppendResult(AppendStatus.Unavailable, fenced));
        }

        _appendedSinceTick = true;
        _lastAppend = time.GetTimestamp();
        return batch.Requests is null && batch.Level is DurabilityLevel.Default or DurabilityLevel.Flush
            ? _writer!.Append(batch)
            : requests.AppendAsync(_topic, _writer!, batch);
    }

    /// <summary>A batch of <c>durability=kafka</c> requests: the same append, then the wait for Kafka (<see cref="RequestAppender"/>).</summary>
    public ValueTask<AppendResult> AppendAwaitingKafka(AppendBatch batch) => Append(batch);

    public async Task HandOver()
    {
        _writer!.RequestSeal(SealReason.HandOver); // after the commit in flight, if one is
        await ForgetReminderAsync();
        // Migrated, not just deactivated: the grain directory then points at the silo the placement chose, and a call
        // routed here on an old cached address is forwarded there (after a plain deactivation it would activate here again).
        this.MigrateOnIdle();
    }

    /// <summary>A new segment: its rotation timer, and the durable reminder behind it if none is registered.</summary>
    private void Opened(ActiveSegment segment)
    {
        ArmRotationTimer(segment);
        if (!_reminderRegistered)
        {
            _reminderRegistered = true;
            _reminderRegistration = RegisterReminderAsync(); // not awaited: no append waits for the reminder table
        }
    }

    private void ArmRotationTimer(ActiveSegment segment)
    {
        _rotationTimer?.Dispose();
        var due = Policy().Deadline(segment.CreatedUnixMs) - writers.Clock.GetUtcNow();
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
        if (_writer!.SealIfDue() is { } open)
        {
            ArmRotationTimer(open);
        }
    }
}
