using Ingest.Options;
using System.Collections.Concurrent;
using Ingest.Archive;
using Ingest.Configuration;
using Ingest.Replay;
using Ingest.Storage;
using Ingest.Topics;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Forwarding;

/// <summary>
/// This silo's replay jobs (<see cref="ReplayJob"/>): each ships the archived records of its window
/// again through a <see cref="TopicLog"/> of its own over the job's directory of links, deleting each
/// link once Kafka acknowledged its records, and is marked done when none is left. Unfinished jobs
/// resume at start from their own checkpoints.
/// </summary>
internal sealed class ReplayRunner(
    SegmentStore store,
    ShippingContext context,
    LiveConfig config,
    SegmentArchive archive,
    ForwardingScheduler scheduler,
    [FromKeyedServices(IngestClock.ServiceKey)] TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (ReplayJob Job, TopicLog Log)> _jobs = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public string Root => Path.Combine(store.Root, ReplayJob.DirectoryName);

    public IEnumerable<TopicLog> Logs => _jobs.Values.Select(j => j.Log);

    /// <summary>Starts (or, for a known id, reports) a replay of archived records.</summary>
    public ReplayStatus Start(ReplayRequest request)
    {
        lock (_gate)
        {
            if (_jobs.TryGetValue(request.Id, out var known))
            {
                return known.Job.Status();
            }

            var from = DateTimeOffset.FromUnixTimeMilliseconds(request.FromMs).UtcDateTime;
            var to = DateTimeOffset.FromUnixTimeMilliseconds(Math.Max(request.FromMs, request.ToMs - 1)).UtcDateTime;
            var segments = archive.Segments(request.Topic, from, to);
            var job = ReplayJob.Create(Root, request, config.Current.KafkaTopicFor(request.Topic), segments, clock.GetUtcNow().ToUnixTimeMilliseconds(), context.Settings.Fsync);
            var status = job.Status();
            ForwardingLog.ReplayStarted(context.Logger, request.Id, request.Topic, from, DateTimeOffset.FromUnixTimeMilliseconds(request.ToMs).UtcDateTime, status.Segments, status.RecordsTotal);
            Run(job);
            return status;
        }
    }

    /// <summary>A replay's progress; a finished job from an earlier run of this silo is read from its directory.</summary>
    public ReplayStatus? Get(string id) =>
        _jobs.TryGetValue(id, out var known) ? known.Job.Status() : ReplayJob.Load(Path.Combine(Root, id))?.Status();

    public void Resume()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(Root))
        {
            if (ReplayJob.Load(directory) is { IsDone: false } job)
            {
                ForwardingLog.ReplayResumed(context.Logger, job.File.Id, job.File.Topic);
                Run(job);
            }
        }
    }

    public void Clear() => _jobs.Clear();

    private void Run(ReplayJob job)
    {
        var fsync = context.Settings.Fsync;
        var log = new TopicLog(
            job.File.Topic,
            job.Directory,
            () => job.File.KafkaTopic,
            RemoveLink,
            context,
            new TopicProgress(job.File.Topic, null, countExisting: false, context.Instruments)
            {
                Identity = Audit.RecordIdentity.OfReplay(store.Audit.NodeId, job.File.Segments.Select(s => s.Source).ToArray()),
            },
            new ShipWindow(job.File.FromMs, job.File.ToMs),
            () =>
            {
                job.MarkDone(fsync);
                ForwardingLog.ReplayFinished(context.Logger, job.File.Id, job.File.Topic, job.File.TotalRecords);
            });
        _jobs[job.File.Id] = (job, log);
        scheduler.Add(log);
        scheduler.Signal(log);
    }

    private static bool RemoveLink(string path)
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
}
