namespace Ingest.Forwarding;

/// <summary>Where Kafka acknowledged a record: its partition and offset (-1, -1 when only the position is known).</summary>
internal readonly record struct KafkaAck(int Partition, long Offset);

/// <summary>Waits for Kafka's acknowledgement of what a topic grain appended (<c>?durability=kafka</c>).</summary>
internal interface IKafkaAcks
{
    /// <summary>Whether this silo forwards to Kafka at all.</summary>
    bool IsForwarding { get; }

    /// <summary>
    /// Completes once Kafka acknowledged every record of topic directory <paramref name="topic"/> before byte
    /// <paramref name="endOffset"/> of segment <paramref name="segment"/>; with the partition and offset of the record
    /// that ends there, when its report is the one that completes it.
    /// </summary>
    Task<KafkaAck> WhenAcked(string topic, long segment, long endOffset);

    /// <summary>A wait given up (its request was answered without the acknowledgement).</summary>
    void Forget(string topic, Task<KafkaAck> waiting);
}

/// <summary>
/// One topic log's waiters for acknowledgements, ordered by position. The log tells it each record it reaps
/// (while any waiter exists) and the acknowledged position after each turn. Empty for almost every topic:
/// only requests that asked for <c>durability=kafka</c> and have not been answered are here.
/// </summary>
internal sealed class AckWaiters
{
    private readonly Lock _gate = new();
    private readonly List<Waiter> _waiting = [];
    private volatile int _count;

    public bool Any => _count > 0;

    public Task<KafkaAck> Add(long segment, long endOffset, Segments.Checkpoint acked)
    {
        var waiter = new Waiter(segment, endOffset);
        lock (_gate)
        {
            _waiting.Add(waiter);
            _count = _waiting.Count;
        }

        AckedUpTo(acked); // it may be acknowledged already
        return waiter.Done.Task;
    }

    /// <summary>A record ending at (<paramref name="segment"/>, <paramref name="endOffset"/>) was reaped with this report.</summary>
    public void Delivered(long segment, long endOffset, int partition, long offset)
    {
        lock (_gate)
        {
            for (var i = _waiting.Count - 1; i >= 0; i--)
            {
                var waiter = _waiting[i];
                if (waiter.Segment == segment && waiter.EndOffset == endOffset)
                {
                    waiter.Done.TrySetResult(new KafkaAck(partition, offset));
                    _waiting.RemoveAt(i);
                }
            }

            _count = _waiting.Count;
        }
    }

    /// <summary>Everything before <paramref name="acked"/> is acknowledged: its waiters complete.</summary>
    public void AckedUpTo(Segments.Checkpoint acked)
    {
        if (_count == 0)
        {
            return;
        }

        lock (_gate)
        {
            for (var i = _waiting.Count - 1; i >= 0; i--)
            {
                var waiter = _waiting[i];
                if (waiter.Segment < acked.Segment || (waiter.Segment == acked.Segment && waiter.EndOffset <= acked.Offset))
                {
                    waiter.Done.TrySetResult(new KafkaAck(-1, -1));
                    _waiting.RemoveAt(i);
                }
            }

            _count = _waiting.Count;
        }
    }

    /// <summary>A waiter that gave up (its request was answered without Kafka's acknowledgement).</summary>
    public void Forget(Task<KafkaAck> done)
    {
        lock (_gate)
        {
            _waiting.RemoveAll(w => w.Done.Task == done);
            _count = _waiting.Count;
        }
    }

    private sealed class Waiter(long segment, long endOffset)
    {
        public long Segment { get; } = segment;

        public long EndOffset { get; } = endOffset;

        public TaskCompletionSource<KafkaAck> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
