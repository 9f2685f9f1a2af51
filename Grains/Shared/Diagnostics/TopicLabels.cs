using System.Collections.Concurrent;
using Ingest.Configuration;
using Ingest.Topics;

namespace Ingest.Diagnostics;

/// <summary>
/// The <c>topic</c> label of every per-topic metric, kept to a bounded set so that clients inventing
/// topic names cannot blow up the metrics store: in allow-list mode the listed topics; in open mode the
/// first <see cref="MaxTopics"/> topics this process sees. Everything else is <c>other</c>. Shards of
/// a topic share its label.
/// </summary>
public sealed class TopicLabels(LiveConfig config)
{
    public const string Name = "topic";
    public const string Other = "other";
    public const int MaxTopics = 200;

    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);

    public KeyValuePair<string, object?> TagFor(string topicOrShardKey) => new(Name, LabelFor(topicOrShardKey));

    public string LabelFor(string topicOrShardKey)
    {
        var topic = TopicShards.TopicOf(topicOrShardKey);
        var current = config.Current;
        if (current.TopicMode == TopicMode.AllowList)
        {
            return current.Topics.ContainsKey(topic) ? topic : Other;
        }

        if (_seen.ContainsKey(topic) || (_seen.Count < MaxTopics && _seen.TryAdd(topic, true)))
        {
            return topic;
        }

        return Other;
    }
}
