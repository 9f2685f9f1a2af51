using System.Diagnostics;
using Ingest.Diagnostics;

namespace Ingest.Topics;

/// <summary>One grain call's frames waiting in a <see cref="TopicWriter"/> for the commit that writes them.</summary>
internal sealed class PendingAppend(AppendBatch batch, bool fsync)
{
    public AppendBatch Batch { get; } = batch;

    /// <summary>The commit it joins must fsync (asked per request on a Flush node).</summary>
    public bool Fsync { get; } = fsync;

    /// <summary>Set by its commit: the segment and the offset its frames begin at.</summary>
    public long Segment;

    public long Start;

    public TaskCompletionSource<AppendResult> Completion { get; } = new();

    /// <summary>A commit's span, linked to the traced calls it writes (null when none of them is traced).</summary>
    public static Activity? CommitSpan(string topic, List<PendingAppend> group, int records, long bytes, bool fsync)
    {
        List<ActivityLink>? links = null;
        foreach (var pending in group)
        {
            if (pending.Batch.TraceParent is { } traceParent && IngestTracing.TryParse(traceParent, out var call))
            {
                (links ??= []).Add(new ActivityLink(call));
            }
        }

        return links is null
            ? null
            : IngestTracing.StartLinked("ingest.commit", ActivityKind.Internal, links)?
                .SetTag(IngestTracing.Tags.Topic, topic)
                .SetTag(IngestTracing.Tags.Records, records)
                .SetTag(IngestTracing.Tags.Bytes, bytes)
                .SetTag(IngestTracing.Tags.Requests, group.Count)
                .SetTag(IngestTracing.Tags.Durability, fsync ? "fsync" : "flush");
    }
}
