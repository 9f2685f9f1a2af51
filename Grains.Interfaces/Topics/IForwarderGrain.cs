namespace Ingest.Topics;

/// <summary>
/// Ships the segments of one silo's data directory to Kafka. Keyed by that silo's address and placed
/// on it: it runs where the segments are, and refuses to activate anywhere else.
/// </summary>
[Alias("ingest.forwarder")]
public interface IForwarderGrain : IGrainWithStringKey
{
    /// <summary>Answers at once: another silo confirming it can still reach this one (see <c>MembershipLease</c>).</summary>
    [Alias("ping")]
    Task Ping();

    [Alias("status")]
    Task<IReadOnlyList<TopicForwardingStatus>> GetStatus();

    /// <summary>This silo for the status page: its disk, its Kafka connection and every topic it ships.</summary>
    [Alias("node-status")]
    Task<NodeStatus> GetNodeStatus();

    /// <summary>
    /// Starts re-shipping this silo's archived records of a topic in a time window (idempotent per id) and
    /// returns its progress. Throws <see cref="InvalidOperationException"/> when forwarding is disabled.
    /// </summary>
    [Alias("start-replay")]
    Task<ReplayStatus> StartReplay(ReplayRequest request);

    /// <summary>A replay's progress on this silo, or null if it never ran here.</summary>
    [Alias("replay-status")]
    Task<ReplayStatus?> GetReplay(string id);

    /// <summary>This silo's audit of <paramref name="topic"/> (all its shards): the UTC hours in [<paramref name="fromMs"/>, <paramref name="toMs"/>) it holds records of.</summary>
    [Alias("audit")]
    Task<IReadOnlyList<AuditHour>> GetAudit(string topic, long fromMs, long toMs);
}

/// <summary>
/// One UTC hour of one topic's records (by ingest time), as one silo counted them, or summed over the
/// cluster: accepted (a commit wrote them and answered), stored (accepted plus those found on disk after a
/// crash), acknowledged by Kafka (each record once, with the offsets per partition), and sent again.
/// </summary>
[GenerateSerializer, Immutable, Alias("ingest.audit-hour")]
public sealed record AuditHour(
    [property: Id(0)] long HourMs,
    [property: Id(1)] long Accepted,
    [property: Id(2)] long Stored,
    [property: Id(3)] long Acked,
    [property: Id(4)] long SentAgain,
    [property: Id(5)] IReadOnlyList<AuditOffsets> Offsets)
{
    /// <summary>Stored and not acknowledged yet.</summary>
    public long Pending => Stored - Acked;
}

/// <summary>The lowest and highest offset one hour's records got in one Kafka partition.</summary>
[GenerateSerializer, Immutable, Alias("ingest.audit-offsets")]
public sealed record AuditOffsets(
    [property: Id(0)] int Partition,
    [property: Id(1)] long First,
    [property: Id(2)] long Last);

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
    [property: Id(7)] string? LastError)
{
    /// <summary>Records on this silo's disk not yet acknowledged by Kafka.</summary>
    [Id(8)]
    public long BacklogRecords { get; init; }

    /// <summary>Ingest time (Unix ms) of the oldest record not yet acknowledged, or null when there is none.</summary>
    [Id(9)]
    public long? OldestUnshippedMs { get; init; }

    /// <summary>Records this silo's topic grains appended since the silo started.</summary>
    [Id(10)]
    public long AppendedRecords { get; init; }
}

/// <summary>One silo, as the status page shows it.</summary>
[GenerateSerializer, Immutable, Alias("ingest.node-status")]
public sealed record NodeStatus(
    [property: Id(0)] string Silo,
    [property: Id(1)] long DiskUsedBytes,
    [property: Id(2)] long DiskFreeBytes,
    [property: Id(3)] long DiskBudgetBytes,
    [property: Id(4)] string Kafka,
    [property: Id(5)] string? KafkaError,
    [property: Id(6)] IReadOnlyList<TopicForwardingStatus> Topics,
    [property: Id(7)] long NowMs)
{
    /// <summary><c>serving</c>; <c>draining</c> while the cluster configuration drains it and something is left; <c>drained</c> once nothing is.</summary>
    [Id(8)]
    public string State { get; init; } = "serving";

    /// <summary>While draining: what it waits for (topics still active here, records not yet acknowledged by Kafka).</summary>
    [Id(9)]
    public string? Waiting { get; init; }
}

/// <summary>Re-ship archived records of <paramref name="Topic"/> with ingest times in [FromMs, ToMs) to Kafka.</summary>
[GenerateSerializer, Immutable, Alias("ingest.replay-request")]
public sealed record ReplayRequest(
    [property: Id(0)] string Id,
    [property: Id(1)] string Topic,
    [property: Id(2)] long FromMs,
    [property: Id(3)] long ToMs);

[GenerateSerializer, Alias("ingest.replay-state")]
public enum ReplayState
{
    Running = 0,
    Done = 1,
}

/// <summary>A replay's progress on one silo: records re-shipped of those its archive holds in the window.</summary>
[GenerateSerializer, Immutable, Alias("ingest.replay-status")]
public sealed record ReplayStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] string Topic,
    [property: Id(2)] long FromMs,
    [property: Id(3)] long ToMs,
    [property: Id(4)] ReplayState State,
    [property: Id(5)] int Segments,
    [property: Id(6)] long RecordsTotal,
    [property: Id(7)] long RecordsDone,
    [property: Id(8)] string KafkaTopic);
