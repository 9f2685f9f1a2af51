namespace Ingest.Topics;

/// <summary>
/// Ships the segments of one silo's data directory to Kafka. Keyed by that silo's address and placed
/// on it: it runs where the segments are, and refuses to activate anywhere else.
/// </summary>
[Alias("ingest.forwarder")]
public interface IForwarderGrain : IGrainWithStringKey
{
    /// <summary>Starts shipping every topic found on disk (leftovers included). Idempotent.</summary>
    [Alias("start")]
    Task Start();

    /// <summary>Stops reading, lets the batch in flight finish (bounded), persists checkpoints.</summary>
    [Alias("stop")]
    Task Stop();

    [Alias("status")]
    Task<IReadOnlyList<TopicForwardingStatus>> GetStatus();
}

/// <summary>How far one topic on one silo is shipped.</summary>
[GenerateSerializer, Immutable, Alias("ingest.topic-forwarding-status")]
public sealed record TopicForwardingStatus(
    [property: Id(0)] string Topic,
    [property: Id(1)] string KafkaTopic,
    [property: Id(2)] long AckedSegment,
    [property: Id(3)] long AckedOffset,
    [property: Id(4)] long ShippedRecords,
    [property: Id(5)] int InFlight,
    [property: Id(6)] long UnshippedBytes,
    [property: Id(7)] string? LastError);
