using Ingest.Diagnostics;
using Ingest.Archive;
using Ingest.Kafka;
using Ingest.Storage;
using Ingest.Topics;
using Microsoft.Extensions.Logging;

namespace Ingest.Forwarding;

/// <summary>Told by a topic grain what it did to its segments.</summary>
internal interface ISegmentEvents
{
    /// <summary>Records were appended: segment <paramref name="sequence"/> now holds <paramref name="length"/> bytes.</summary>
    void Appended(string topic, long sequence, long length);

    /// <summary>Segment <paramref name="sequence"/> is sealed at <paramref name="length"/> bytes.</summary>
    void Sealed(string topic, long sequence, long length);

    /// <summary>The topic's directory changed in a way not signalled (recovery when its grain activated).</summary>
    void Changed(string topic);
}

/// <summary>
/// This silo's forwarding (see README.md in this folder): the <see cref="TopicLogs"/> of its topic
/// directories and the logs of its <see cref="ReplayRunner"/> jobs, served by one
/// <see cref="ForwardingScheduler"/>. The topic grains' signals wake their logs. Every 10 s a
/// maintenance pass picks up topic directories that appeared without a signal (say, copied from another
/// node's disk), applies retention, wakes any log with unshipped bytes that waits for nothing, and
/// closes read handles idle for 10 s. Owned by the silo's <see cref="ForwarderGrain"/>; lives as long
/// as the silo.
/// </summary>
internal sealed class ForwardingEngine(
    ShippingContext context,
    ForwardingScheduler scheduler,
    TopicLogs topics,
    ReplayRunner replays,
    SegmentArchive archive,
    KafkaProducerHost producer,
    KafkaEndpoint endpoint) : ISegmentEvents, IShippingBacklog, IKafkaAcks, IAsyncDisposable
{
    private static readonly TimeSpan MaintenancePeriod = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private volatile bool _running;
    private bool _stopped;
    private ITimer? _maintenance;

    public bool IsRunning => _running;

    public void Start()
    {
        lock (_gate)
        {
            if (_running || _stopped)
            {
                return;
            }

            endpoint.Start();
            scheduler.Start();
            producer.Replaced += WakeLogsInFlight;
            context.Instruments.ObserveTopics(Status);
            _running = true;
            foreach (var log in topics.Discover(atStart: true))
            {
                scheduler.Signal(log);
            }

            replays.Resume();
            archive.ApplyRetention();
            _maintenance = context.Time.CreateTimer(_ => Maintain(), null, MaintenancePeriod, MaintenancePeriod);
        }
    }

    public void Appended(string topic, long sequence, long length)
    {
        if (_running && topics.For(topic) is { } log)
        {
            log.Segments.Appended(sequence, length);
            scheduler.Signal(log);
        }
    }

    public void Sealed(string topic, long sequence, long length)
    {
        if (_running && topics.For(topic) is { } log)
        {
            log.Segments.Sealed(sequence, length);
            scheduler.Signal(log);
        }
    }

    public void Changed(string topic)
    {
        if (_running && topics.For(topic) is { } log)
        {
            log.RequestReload();
            scheduler.Signal(log);
        }
    }

    public ReplayStatus StartReplay(ReplayRequest request) =>
        _running ? replays.Start(request) : throw new InvalidOperationException("Forwarding to Kafka is not running on this silo.");

    public ReplayStatus? GetReplay(string id) => replays.Get(id);

    /// <summary>Every topic directory this silo ships, by name. Reads no directory (see <see cref="TopicProgress"/>).</summary>
    public IReadOnlyList<TopicForwardingStatus> Status() =>
        [.. topics.All.Select(log => log.Progress.Status(log, log.KafkaTopic)).OrderBy(s => s.Topic, StringComparer.Ordinal)];

    public bool IsForwarding => _running;

    public Task<KafkaAck> WhenAcked(string topic, long segment, long endOffset)
    {
        if (!_running || topics.For(topic) is not { } log)
        {
            return Task.FromException<KafkaAck>(new InvalidOperationException("Forwarding to Kafka is not running on this silo."));
        }

        var waiting = log.Progress.Waiters.Add(segment, endOffset, log.Progress.Acked);
        scheduler.Signal(log);
        return waiting;
    }

    public void Forget(string topic, Task<KafkaAck> waiting) => topics.For(topic)?.Progress.Waiters.Forget(waiting);

    /// <summary>What waits on this silo's disk for Kafka's acknowledgement, summed over its topics.</summary>
    public (long Records, long Bytes) Backlog()
    {
        long records = 0, bytes = 0;
        foreach (var topic in Status())
        {
            records += topic.BacklogRecords;
            bytes += topic.UnshippedBytes;
        }

        return (records, bytes);
    }

    /// <summary>This silo for the status page.</summary>
    public NodeStatus NodeStatus(string silo, DiskBudget budget)
    {
        var (state, error) = producer.State();
        return new NodeStatus(silo, budget.UsedBytes, budget.FreeBytes == long.MaxValue ? 0 : budget.FreeBytes, budget.MaxBytes,
            _running ? state : "disabled", error, Status(), context.Time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// Stops forwarding for good: the producer gets up to <paramref name="grace"/> to deliver what it holds
    /// (its reports come in meanwhile), the workers stop, and every log persists its checkpoint.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        lock (_gate)
        {
            if (!_running)
            {
                _stopped = true;
                return;
            }

            _running = false;
            _stopped = true;
            producer.Replaced -= WakeLogsInFlight;
        }

        if (_maintenance is not null)
        {
            await _maintenance.DisposeAsync();
        }

        context.Draining = true;
        if (grace > TimeSpan.Zero)
        {
            await Task.Run(() => producer.Flush(grace)); // returns as soon as every record in flight has its report
        }

        await scheduler.DisposeAsync();
        foreach (var log in topics.All.Concat(replays.Logs))
        {
            log.Close();
        }

        topics.Clear();
        replays.Clear();
        producer.Flush(TimeSpan.FromSeconds(1));
    }

    /// <summary>The safety net behind the signals, retention, and idle read handles (see the class remarks).</summary>
    private void Maintain()
    {
        if (!_running)
        {
            return;
        }

        try
        {
            foreach (var log in topics.Discover(atStart: false))
            {
                scheduler.Signal(log);
            }

            var idleSince = context.Time.GetTimestamp() - (long)(context.Settings.ReaderIdleClose.TotalSeconds * context.Time.TimestampFrequency);
            foreach (var log in topics.All)
            {
                if (log.HasReader && log.ReaderUsedAt < idleSince)
                {
                    scheduler.TryExclusive(log, log.CloseReader);
                }
                else if (log.Deadline == 0 && log.Progress.InFlight == 0 && log.Segments.UnshippedBytes(log.Progress.Acked) > 0)
                {
                    scheduler.Signal(log);
                }
            }

            RenewProducerIfMostTopicsAreIdle();
            archive.ApplyRetention();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ForwardingLog.MaintenanceFailed(context.Logger, e);
        }
    }

    /// <summary>
    /// librdkafka keeps every topic its producer ever sent to and scans them all every second (measured:
    /// ~1.5 µs per topic per second, most of a 10,000-topic silo's idle cost). When more than
    /// <see cref="ForwardingSettings.RenewProducerAfterIdleTopics"/> of the topics it knows are idle, and more
    /// than are in use, and nothing is in flight (so nothing is resent), a fresh producer replaces it.
    /// </summary>
    private void RenewProducerIfMostTopicsAreIdle()
    {
        if (context.Budget.Records > 0 || context.Budget.Bytes > 0)
        {
            return;
        }

        var builtAt = producer.BuiltAt;
        var idleSince = context.Time.GetTimestamp() - (long)(context.Settings.IdleAfter.TotalSeconds * context.Time.TimestampFrequency);
        int idle = 0, active = 0;
        foreach (var log in topics.All)
        {
            var sent = log.LastSentAt;
            if (sent > builtAt)
            {
                _ = sent < idleSince ? idle++ : active++;
            }
        }

        if (idle > context.Settings.RenewProducerAfterIdleTopics && idle > active)
        {
            producer.Renew($"{idle} of the {idle + active} topics it sent to are idle");
        }
    }

    /// <summary>The producer was replaced: logs with records in flight must wait out its grace and resend.</summary>
    private void WakeLogsInFlight()
    {
        foreach (var log in topics.All.Concat(replays.Logs))
        {
            if (log.Progress.InFlight > 0)
            {
                scheduler.Signal(log);
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero);
}

internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = (int)IngestEventCode.ForwardingMaintenanceFailed, Level = LogLevel.Warning, Message = "Forwarding maintenance (new topic directories, retention) failed; retried in 10 seconds")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = (int)IngestEventCode.ReplayStarted, Level = LogLevel.Information,
        Message = "Replay {Id} of topic {Topic} from {From:o} to {To:o} started: {Segments} archived segment(s), {Records} record(s) in the window")]
    public static partial void ReplayStarted(ILogger logger, string id, string topic, DateTime from, DateTime to, int segments, long records);

    [LoggerMessage(EventId = (int)IngestEventCode.ReplayResumed, Level = LogLevel.Information,
        Message = "Replay {Id} of topic {Topic} resumed from its checkpoint")]
    public static partial void ReplayResumed(ILogger logger, string id, string topic);

    [LoggerMessage(EventId = (int)IngestEventCode.ReplayFinished, Level = LogLevel.Information,
        Message = "Replay {Id} of topic {Topic} finished: {Records} record(s) acknowledged by Kafka")]
    public static partial void ReplayFinished(ILogger logger, string id, string topic, long records);
}
