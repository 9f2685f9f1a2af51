using Confluent.Kafka;

namespace Ingest.Forwarding;

/// <summary>Report counters of the records sent since a window was last dropped.</summary>
internal sealed class WindowEpoch
{
    public int Pending;
    public int Failed;
    public string? LastError;
}

/// <summary>One record in flight (or a segment end marker). Reused through <see cref="InFlightPool"/>; its delivery handler is built once.</summary>
internal sealed class InFlight
{
    public const int Pending = 0;
    public const int Delivered = 1;
    public const int Failed = 2;
    public const int Skipped = 3;

    public InFlight() => OnDelivered = Report;

    public long Segment;
    public long EndOffset;
    public int Bytes;
    public bool SegmentEnd;
    public long TimestampMs;
    public int State;

    /// <summary>From its delivery report: where Kafka put it.</summary>
    public int Partition = -1;
    public long Offset = -1;

    /// <summary>The trace context the record carries and when it was sent (tracing on), else null.</summary>
    public SentTrace? Trace;

    /// <summary>The counters of the epoch this record was sent in.</summary>
    public WindowEpoch Epoch = null!;

    /// <summary>Tells the owner that a report came in.</summary>
    public Action Notify = null!;

    public Action<DeliveryReport<byte[]?, byte[]>> OnDelivered { get; }

    /// <summary>A send that failed before reaching the producer's queue.</summary>
    public void Fail(string reason)
    {
        var epoch = Epoch;
        Volatile.Write(ref epoch.LastError, reason);
        Volatile.Write(ref State, Failed);
        Interlocked.Increment(ref epoch.Failed);
        Interlocked.Decrement(ref epoch.Pending);
        Notify();
    }

    private void Report(DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Fail(report.Error.Reason);
            return;
        }

        var epoch = Epoch;
        Partition = report.Partition.Value;
        Offset = report.Offset.Value;
        Volatile.Write(ref State, Delivered);
        Interlocked.Decrement(ref epoch.Pending);
        Notify();
    }
}

/// <summary>
/// The silo's spare <see cref="InFlight"/> entries, shared by every topic: what is held follows the
/// records in flight, not the number of topics. Keeps at most <c>capacity</c> spares.
/// </summary>
internal sealed class InFlightPool(int capacity)
{
    private readonly System.Collections.Concurrent.ConcurrentBag<InFlight> _spare = [];

    public InFlight Rent() => _spare.TryTake(out var entry) ? entry : new InFlight();

    public void Return(InFlight entry)
    {
        if (_spare.Count < capacity)
        {
            entry.Notify = null!;
            entry.Epoch = null!;
            _spare.Add(entry);
        }
    }
}

/// <summary>A traced record in flight: the context of the request that brought it, and when it went to the producer.</summary>
internal sealed record SentTrace(System.Diagnostics.ActivityContext Context, DateTimeOffset SentAt);
