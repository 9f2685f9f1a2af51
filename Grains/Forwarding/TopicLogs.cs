using System.Collections.Concurrent;
using Ingest.Archive;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Storage;
using Ingest.Topics;

namespace Ingest.Forwarding;

/// <summary>
/// The <see cref="TopicLog"/> of every topic directory of this silo's data directory, made on first
/// need: a signal from a topic grain, or a directory found on disk (at start, or by the engine's
/// maintenance pass). A log ships its topic's records to the Kafka topic the cluster configuration
/// names, and hands each fully acknowledged segment to the <see cref="SegmentArchive"/>.
/// </summary>
internal sealed class TopicLogs(
    SegmentStore store,
    ShippingContext context,
    LiveConfig config,
    SegmentArchive archive,
    AppendCounts appendCounts,
    ForwardingScheduler scheduler)
{
    private readonly ConcurrentDictionary<string, TopicLog> _logs = new(StringComparer.Ordinal);
    private HashSet<string> _existingAtStart = [];

    public ICollection<TopicLog> All => _logs.Values;

    /// <summary>Remembers the directories present at start (their records predate this run: their backlog is counted once), and makes their logs.</summary>
    public IReadOnlyList<TopicLog> Discover(bool atStart)
    {
        var found = new List<TopicLog>();
        if (!Directory.Exists(store.SegmentsRoot))
        {
            return found;
        }

        var names = Directory.EnumerateDirectories(store.SegmentsRoot).Select(d => Path.GetFileName(d)).ToList();
        if (atStart)
        {
            _existingAtStart = names.ToHashSet(StringComparer.Ordinal);
        }

        foreach (var topic in names)
        {
            if (!_logs.ContainsKey(topic) && For(topic) is { } log)
            {
                found.Add(log);
            }
        }

        return found;
    }

    /// <summary>The log of a topic (or topic shard) key; null for a directory name that is not one.</summary>
    public TopicLog? For(string topic) =>
        _logs.TryGetValue(topic, out var log) ? log : TopicShards.TryParse(topic, out _, out _) ? _logs.GetOrAdd(topic, Create) : null;

    public void Clear() => _logs.Clear();

    private TopicLog Create(string topic)
    {
        var name = TopicShards.TopicOf(topic); // every shard ships to its topic; parsed once, not per read
        var directory = Path.Combine(store.SegmentsRoot, topic);
        var log = new TopicLog(
            topic,
            directory,
            () => config.Current.KafkaTopicFor(name),
            path => archive.Retire(topic, path),
            context,
            new TopicProgress(topic, appendCounts.For(topic), _existingAtStart.Contains(topic), context.Instruments)
            {
                Audit = store.Audit.For(topic, directory),
                Identity = Audit.RecordIdentity.Of(store.Audit.NodeId, topic),
            });
        scheduler.Add(log);
        return log;
    }
}
