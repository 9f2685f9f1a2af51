using Ingest.Api.Appending;
using Ingest.Topics;

namespace Ingest.Tests.Appending;

/// <summary>
/// When a topic's next grain call first lets the node's queued work run (so that the requests being read join it):
/// only after a Flush call, only when work is queued, and only when the node would admit what is queued — under
/// overload a pass of a queue full of 503s gathers nothing and stretches every call (bench/README.md, issue 21).
/// </summary>
public sealed class QueuedWorkRuleTests
{
    [Fact]
    public void after_a_flush_call_queued_work_the_node_would_admit_runs_first()
    {
        Assert.True(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Flush, DurabilityLevel.Default, queuedWorkItems: 12, nodeRoom: 1000));
        Assert.True(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Flush, DurabilityLevel.Flush, queuedWorkItems: 12, nodeRoom: 12));
    }

    [Fact]
    public void with_nothing_queued_the_next_call_leaves_at_once()
    {
        Assert.False(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Flush, DurabilityLevel.Default, queuedWorkItems: 0, nodeRoom: 1000));
    }

    [Fact]
    public void at_or_near_the_node_cap_queued_work_would_be_refused_so_the_next_call_does_not_wait_for_it()
    {
        Assert.False(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Flush, DurabilityLevel.Default, queuedWorkItems: 12, nodeRoom: 0));
        Assert.False(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Flush, DurabilityLevel.Default, queuedWorkItems: 700, nodeRoom: 20));
    }

    [Fact]
    public void after_an_fsync_or_for_kafka_level_requests_the_next_call_does_not_wait()
    {
        Assert.False(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Fsync, DurabilityLevel.Default, queuedWorkItems: 12, nodeRoom: 1000));
        Assert.False(TopicAppender.LetsQueuedWorkRunFirst(DurabilityLevel.Flush, DurabilityLevel.Kafka, queuedWorkItems: 12, nodeRoom: 1000));
    }
}
