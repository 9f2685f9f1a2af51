using System.Diagnostics;
using Ingest.Diagnostics;

namespace Ingest.Forwarding;

/// <summary>
/// The <c>ingest.deliver</c> span of one reap: Kafka acknowledged these traced records, sent from the first one's
/// send on. Linked to the request of each (one span serves many traces); where they went when that is one partition.
/// Only records that carry a trace context count, so an untraced topic never builds one.
/// </summary>
internal struct DeliveryTrace
{
    /// <summary>At most this many links per span: a backlog shipped at once stays one reasonable span.</summary>
    public const int MaxLinks = 128;

    private List<ActivityLink>? _links;
    private DateTimeOffset _firstSent;
    private int _records;
    private int _partition;
    private long _firstOffset;
    private long _lastOffset;

    public void Add(in AckWindow.Reaped record)
    {
        if (record.Trace is not { } trace)
        {
            return;
        }

        if (_links is null)
        {
            _links = [];
            _firstSent = trace.SentAt;
            _partition = record.Partition;
            _firstOffset = record.KafkaOffset;
        }
        else if (_partition != record.Partition)
        {
            _partition = -1; // several partitions: no single range to name
        }

        _records++;
        _lastOffset = record.KafkaOffset;
        if (trace.SentAt < _firstSent)
        {
            _firstSent = trace.SentAt;
        }

        if (_links.Count < MaxLinks)
        {
            _links.Add(new ActivityLink(trace.Context));
        }
    }

    /// <summary>Ends the span now, if any traced record was acknowledged.</summary>
    public readonly void Emit(string topic, string kafkaTopic, DateTimeOffset now)
    {
        if (_links is null)
        {
            return;
        }

        using var span = IngestTracing.StartLinked("ingest.deliver", ActivityKind.Producer, _links, _firstSent);
        if (span is null)
        {
            return;
        }

        span.SetTag(IngestTracing.Tags.MessagingSystem, "kafka")
            .SetTag(IngestTracing.Tags.Topic, topic)
            .SetTag(IngestTracing.Tags.KafkaTopic, kafkaTopic)
            .SetTag(IngestTracing.Tags.Records, _records);
        if (_partition >= 0)
        {
            span.SetTag(IngestTracing.Tags.Partition, _partition.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .SetTag(IngestTracing.Tags.FirstOffset, _firstOffset)
                .SetTag(IngestTracing.Tags.LastOffset, _lastOffset);
        }

        span.SetEndTime(now.UtcDateTime);
    }
}
