using System.Collections.Concurrent;

namespace Ingest.Diagnostics;

/// <summary>Records appended on this silo since it started, per topic grain key: the topic grains add, the forwarder reads (backlog).</summary>
internal sealed class AppendCounts
{
    private readonly ConcurrentDictionary<string, AppendCount> _counts = new(StringComparer.Ordinal);

    public AppendCount For(string topicKey) => _counts.GetOrAdd(topicKey, static _ => new AppendCount());
}

internal sealed class AppendCount
{
    public long Value;

    public void Add(long records) => Interlocked.Add(ref Value, records);
}
