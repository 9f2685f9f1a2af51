using System.Collections.Concurrent;
using System.Diagnostics;
using Ingest.Diagnostics;
using Ingest.Forwarding;

namespace Ingest.Tests.Forwarding;

/// <summary>The delivery span of one reap, seen by a listener of Ingest's source (spans of other tests are told apart by topic).</summary>
public sealed class DeliveryTraceTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public DeliveryTraceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == IngestTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private static SentTrace Traced(DateTimeOffset sentAt) =>
        new(new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded), sentAt);

    private Activity SpanOf(string topic) => Assert.Single(_stopped, a => a.GetTagItem(IngestTracing.Tags.Topic) as string == topic);

    [Fact]
    public void traced_records_acknowledged_in_one_partition_make_one_span_from_the_first_send_linked_to_each_with_the_offsets()
    {
        var sent = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        var first = Traced(sent.AddMilliseconds(5));
        var earlier = Traced(sent);
        var trace = default(DeliveryTrace);
        trace.Add(new AckWindow.Reaped(1, 100, 10, false, false, 0, Partition: 3, KafkaOffset: 40, Trace: first));
        trace.Add(new AckWindow.Reaped(1, 200, 10, false, false, 0, Partition: 3, KafkaOffset: 41)); // untraced: not counted
        trace.Add(new AckWindow.Reaped(1, 300, 10, false, false, 0, Partition: 3, KafkaOffset: 42, Trace: earlier));

        trace.Emit("deliver-one", "kafka-one", sent.AddMilliseconds(30));

        var span = SpanOf("deliver-one");
        Assert.Equal("ingest.deliver", span.OperationName);
        Assert.Equal(ActivityKind.Producer, span.Kind);
        Assert.Equal(default, span.ParentSpanId);
        Assert.Equal([first.Context, earlier.Context], span.Links.Select(l => l.Context));
        Assert.Equal(sent.UtcDateTime, span.StartTimeUtc);
        Assert.Equal(TimeSpan.FromMilliseconds(30), span.Duration);
        Assert.Equal("kafka-one", span.GetTagItem(IngestTracing.Tags.KafkaTopic));
        Assert.Equal(2, span.GetTagItem(IngestTracing.Tags.Records));
        Assert.Equal("3", span.GetTagItem(IngestTracing.Tags.Partition));
        Assert.Equal(40L, span.GetTagItem(IngestTracing.Tags.FirstOffset));
        Assert.Equal(42L, span.GetTagItem(IngestTracing.Tags.LastOffset));
    }

    [Fact]
    public void records_in_several_partitions_name_no_range_and_links_stop_at_the_cap()
    {
        var now = DateTimeOffset.UtcNow;
        var trace = default(DeliveryTrace);
        for (var i = 0; i < DeliveryTrace.MaxLinks + 10; i++)
        {
            trace.Add(new AckWindow.Reaped(1, i, 10, false, false, 0, Partition: i % 2, KafkaOffset: i, Trace: Traced(now)));
        }

        trace.Emit("deliver-many", "kafka-many", now);

        var span = SpanOf("deliver-many");
        Assert.Equal(DeliveryTrace.MaxLinks, span.Links.Count());
        Assert.Equal(DeliveryTrace.MaxLinks + 10, span.GetTagItem(IngestTracing.Tags.Records));
        Assert.Null(span.GetTagItem(IngestTracing.Tags.Partition));
    }

    [Fact]
    public void a_reap_without_traced_records_makes_no_span()
    {
        var trace = default(DeliveryTrace);
        trace.Add(new AckWindow.Reaped(1, 100, 10, false, false, 0, Partition: 0, KafkaOffset: 1));

        trace.Emit("deliver-none", "kafka-none", DateTimeOffset.UtcNow);

        Assert.DoesNotContain(_stopped, a => a.GetTagItem(IngestTracing.Tags.Topic) as string == "deliver-none");
    }
}
