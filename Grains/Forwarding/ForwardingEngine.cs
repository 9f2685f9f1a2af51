using System.Collections.Concurrent;
using Ingest.Archive;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Hosting;
using Ingest.Kafka;
using Ingest.Options;
using Ingest.Replay;
using Ingest.Storage;
using Ingest.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Forwarding;

/// <summary>Told by a topic grain that records were appended or a segment sealed.</summary>
internal interface IAppendListener
{
    void OnAppended(string topic);
}

/// <summary>
/// One <see cref="TopicShipper"/> per topic directory of this silo's data directory, started for
/// every directory found at start (leftovers from earlier runs or from topic grains that moved away)
/// and for every topic that appends later; plus one per unfinished replay job (resumed at start).
/// Shipped segments go to the <see cref="SegmentArchive"/>, whose retention runs on every rescan.
/// Owned by the silo's <see cref="ForwarderGrain"/>.
/// </summary>
internal sealed class ForwardingEngine(
    SegmentStore store,
    KafkaEndpoint endpoint,
    KafkaProducerHost producer,
    IOptions<KafkaOptions> kafka,
    LiveConfig config,
    IOptions<IngestOptions> ingest,
    SegmentArchive archive,
    IngestInstruments instruments,
    AppendCounts appendCounts,
    DiskBudget budget,
    ILoggerFactory loggers,
    TimeProvider time,
    [FromKeyedServices(IngestClock.ServiceKey)] TimeProvider clock) : IAppendListener, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TopicShipper> _shippers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (ReplayJob Job, TopicShipper? Shipper)> _replays = new(StringComparer.Ordinal);
    private readonly Lock _replayLock = new();
    private readonly ILogger _logger = loggers.CreateLogger("Ingest.Forwarding");
    private readonly bool _fsync = ingest.Value.Durability == Durability.Fsync;
    private static readonly TimeSpan RescanPeriod = TimeSpan.FromSeconds(1);
    private HashSet<string> _existingAtStart = [];
    private volatile bool _running;
    private CancellationTokenSource? _rescanStop;
    private Task _rescanLoop = Task.CompletedTask;

    public void Start()
    {
        lock (_replayLock)
        {
            if (_running)
            {
                return;
            }

            StartLocked();
        }
    }

    private void StartLocked()
    {
        endpoint.Start();
        // Directories present now hold records from before this start: their shippers count them once.
        _existingAtStart = Directory.Exists(store.SegmentsRoot)
            ? Directory.EnumerateDirectories(store.SegmentsRoot).Select(d => Path.GetFileName(d)).ToHashSet(StringComparer.Ordinal)
            : [];
        instruments.ObserveTopics(Status);
        _running = true;
        ResumeReplays();
        Rescan();
        _rescanStop = new CancellationTokenSource();
        _rescanLoop = RescanLoopAsync(_rescanStop.Token);
    }

    /// <summary>Every second: a safety net behind the append signals, new topic directories, retention.</summary>
    private async Task RescanLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(RescanPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    Rescan();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    ForwardingLog.RescanFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public string ReplayRoot => Path.Combine(store.Root, ReplayJob.DirectoryName);

    /// <summary>Starts shippers for topic directories not yet shipped and wakes all (a safety net behind the append signals).</summary>
    public void Rescan()
    {
        if (!_running)
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(store.SegmentsRoot))
        {
            var topic = Path.GetFileName(directory); // a topic, or a shard of one (topic#n)
            if (TopicShards.TryParse(topic, out _, out _))
            {
                ShipperFor(topic).Wake();
            }
        }

        archive.ApplyRetention();
    }

    /// <summary>Starts (or, for a known id, reports) a replay of archived records; see <see cref="ReplayJob"/>.</summary>
    public ReplayStatus StartReplay(ReplayRequest request)
    {
        if (!_running)
        {
            throw new InvalidOperationException("Forwarding to Kafka is not running on this silo.");
        }

        lock (_replayLock)
        {
            if (_replays.TryGetValue(request.Id, out var known))
            {
                return known.Job.Status();
            }

            var from = DateTimeOffset.FromUnixTimeMilliseconds(request.FromMs).UtcDateTime;
            var to = DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(request.FromMs, request.ToMs - 1)).UtcDateTime;
            var segments = archive.Segments(request.Topic, from, to);
            var job = ReplayJob.Create(ReplayRoot, request, config.Current.KafkaTopicFor(request.Topic), segments, clock.GetUtcNow().ToUnixTimeMilliseconds(), _fsync);
            var status = job.Status();
            ForwardingLog.ReplayStarted(_logger, request.Id, request.Topic, from, DateTimeOffset.FromUnixTimeMilliseconds(request.ToMs).UtcDateTime, status.Segments, status.RecordsTotal);
            Run(job);
            return status;
        }
    }

    public ReplayStatus? GetReplay(string id)
    {
        if (_replays.TryGetValue(id, out var known))
        {
            return known.Job.Status();
        }

        // A finished job from an earlier run of this silo.
        return ReplayJob.Load(Path.Combine(ReplayRoot, id))?.Status();
    }

    private void ResumeReplays()
    {
        if (!Directory.Exists(ReplayRoot))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(ReplayRoot))
        {
            if (ReplayJob.Load(directory) is { IsDone: false } job)
            {
                ForwardingLog.ReplayResumed(_logger, job.File.Id, job.File.Topic);
                Run(job);
            }
        }
    }

    private void Run(ReplayJob job)
    {
        var shipper = new TopicShipper(
            job.File.Topic,
            job.Directory,
            producer,
            endpoint,
            kafka.Value,
            () => job.File.KafkaTopic,
            RemoveReplayLink,
            _fsync,
            instruments,
            _logger,
            time,
            new ShipWindow(job.File.FromMs, job.File.ToMs),
            () =>
            {
                job.MarkDone(_fsync);
                ForwardingLog.ReplayFinished(_logger, job.File.Id, job.File.Topic, job.File.TotalRecords);
            });
        _replays[job.File.Id] = (job, shipper);
        shipper.Start();
    }

    private static bool RemoveReplayLink(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void OnAppended(string topic)
    {
        if (_running)
        {
            ShipperFor(topic).Wake();
        }
    }

    public IReadOnlyList<TopicForwardingStatus> Status() =>
        _shippers.Values.Select(s => s.Status()).OrderBy(s => s.Topic, StringComparer.Ordinal).ToList();

    /// <summary>This silo for the status page.</summary>
    public NodeStatus NodeStatus(string silo)
    {
        var (state, error) = producer.State();
        return new NodeStatus(silo, budget.UsedBytes, budget.FreeBytes == long.MaxValue ? 0 : budget.FreeBytes, budget.MaxBytes,
            _running ? state : "disabled", error, Status(), time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// Stops every shipper (each lets its reports in flight arrive for up to <paramref name="grace"/>, then
    /// persists its checkpoint) and forgets them, so a later <see cref="Start"/> begins afresh from the checkpoints.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _running = false;
        _rescanStop?.Cancel();
        await _rescanLoop;
        var stopping = _shippers.Values.ToList();
        _shippers.Clear();
        stopping.AddRange(_replays.Values.Select(r => r.Shipper).OfType<TopicShipper>());
        _replays.Clear();
        await Task.WhenAll(stopping.Select(s => s.StopAsync(grace)));
        foreach (var shipper in stopping)
        {
            await shipper.DisposeAsync();
        }

        producer.Flush(TimeSpan.FromSeconds(1));
    }

    private TopicShipper ShipperFor(string topic) =>
        _shippers.TryGetValue(topic, out var shipper) ? shipper : _shippers.GetOrAdd(topic, Create);

    private TopicShipper Create(string topic)
    {
        var name = TopicShards.TopicOf(topic); // every shard ships to its topic; parsed once, not per read
        var shipper = new TopicShipper(
            topic,
            Path.Combine(store.SegmentsRoot, topic),
            producer,
            endpoint,
            kafka.Value,
            () => config.Current.KafkaTopicFor(name),
            path => archive.Retire(topic, path),
            _fsync,
            instruments,
            _logger,
            time,
            appended: appendCounts.For(topic),
            countExisting: _existingAtStart.Contains(topic));
        shipper.Start();
        return shipper;
    }

    public async ValueTask DisposeAsync()
    {
        _rescanStop?.Cancel();
        await _rescanLoop;
        foreach (var shipper in _shippers.Values.Concat(_replays.Values.Select(r => r.Shipper).OfType<TopicShipper>()))
        {
            await shipper.DisposeAsync();
        }

        _shippers.Clear();
        _replays.Clear();
    }
}

internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Rescan of the data directory failed; retried in a second")]
    public static partial void RescanFailed(ILogger logger, Exception exception);

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
