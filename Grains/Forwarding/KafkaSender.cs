using System.Buffers.Text;
using Confluent.Kafka;
using Ingest.Kafka;
using Ingest.Records;

namespace Ingest.Forwarding;

/// <summary>What became of one record handed to <see cref="KafkaSender.Send"/>.</summary>
internal enum SendOutcome
{
    /// <summary>In the producer's queue: its report will come.</summary>
    Sent,

    /// <summary>The producer's own queue is full: not sent; try again once reports come in.</summary>
    QueueFull,

    /// <summary>Refused at once (the entry is marked failed): resend from the acknowledged position.</summary>
    Failed,
}

/// <summary>Where a topic log's records go: the silo's Kafka producer, or a fake in tests.</summary>
internal interface IRecordSender
{
    /// <summary>Which producer records go to now; it changes when the producer is replaced.</summary>
    int Generation { get; }

    /// <summary>Sends one record named <paramref name="id"/> (the <c>ingest-id</c> header; null: none); its report arrives through <paramref name="entry"/> (unless the outcome says otherwise).</summary>
    SendOutcome Send(string kafkaTopic, in RecordView record, InFlight entry, byte[]? id);

    /// <summary>Makes sure <paramref name="kafkaTopic"/> exists where that is this node's business (the development broker).</summary>
    void EnsureTopic(string kafkaTopic);
}

/// <summary>
/// Hands records to the silo's one Kafka producer (<see cref="KafkaProducerHost"/>): key, value, the
/// ingest time as the Kafka timestamp, an <c>ingest-time</c> header and the record's own headers. The producer may be replaced
/// (new brokers or settings, a fatal error); <see cref="Generation"/> tells which one a record went to.
/// </summary>
internal sealed class KafkaSender(KafkaProducerHost producer, KafkaEndpoint endpoint) : IRecordSender
{
    public int Generation => producer.Generation;

    /// <summary>How long a replaced producer may still deliver what it holds before its records are resent.</summary>
    public static TimeSpan ReplacedProducerGrace => KafkaProducerHost.RetireGrace + TimeSpan.FromSeconds(2);

    public void EnsureTopic(string kafkaTopic) => endpoint.EnsureTopic(kafkaTopic);

    public SendOutcome Send(string kafkaTopic, in RecordView record, InFlight entry, byte[]? id)
    {
        var message = new Message<byte[]?, byte[]>
        {
            Key = record.HasKey ? record.Key.ToArray() : null,
            Value = record.Value.ToArray(),
            Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
            Headers = HeadersOf(record, id),
        };
        try
        {
            producer.Producer.Produce(kafkaTopic, message, entry.OnDelivered);
            return SendOutcome.Sent;
        }
        catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
        {
            return SendOutcome.QueueFull;
        }
        catch (KafkaException e)
        {
            entry.Fail(e.Error.Reason);
            return SendOutcome.Failed;
        }
    }

    /// <summary>The <c>ingest-time</c> and <c>ingest-id</c> headers, then the record's own headers (idempotency key, trace context) in their order.</summary>
    private static Headers HeadersOf(in RecordView record, byte[]? id)
    {
        var headers = new Headers { new Header(KafkaHeaders.IngestTime, AsciiDigits(record.TimestampMs)) };
        if (id is not null)
        {
            headers.Add(KafkaHeaders.IngestId, id);
        }

        foreach (var header in record.Headers)
        {
            headers.Add(System.Text.Encoding.UTF8.GetString(header.Name), header.Value.ToArray());
        }

        return headers;
    }

    /// <summary>A number as ASCII digits: one allocation, no intermediate string.</summary>
    private static byte[] AsciiDigits(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        return digits[..written].ToArray();
    }
}

/// <summary>The wait between resend attempts after a failed delivery: 100 ms, doubling up to <c>Kafka:MaxRetryBackoff</c>.</summary>
internal struct RetryBackoff(TimeSpan max)
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private TimeSpan _next = First;

    /// <summary>The wait before the next attempt; the one after will be twice as long (capped).</summary>
    public TimeSpan Next()
    {
        var wait = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, max.Ticks));
        return wait;
    }

    /// <summary>A delivery succeeded: the next failure starts from the first wait again.</summary>
    public void Reset() => _next = First;
}
