namespace Ingest.Topics;

/// <summary>
/// The single writer of one topic's active segment on the silo where it is activated. Orleans keeps
/// one activation per key in the cluster, so no two processes ever append to one topic's file.
/// Keyed by the topic name (<c>Ingest.Topics.TopicName</c>).
/// </summary>
[Alias("ingest.topic")]
public interface ITopicGrain : IGrainWithStringKey
{
    /// <summary>
    /// Appends whole frames (see <c>Ingest.Records.RecordFrame</c>) in one write, group-committed with
    /// other appends in flight. <see cref="AppendStatus.Appended"/> means every frame is on local disk
    /// with the configured durability; any other status means none of them was acknowledged.
    /// </summary>
    [Alias("append")]
    ValueTask<AppendResult> Append(AppendBatch batch);

    /// <summary>
    /// Like <see cref="Append"/>, then waits (at most the silo's <c>Ingest:KafkaAckWait</c>) until Kafka has acknowledged
    /// every record of each marked request: <see cref="DurabilityLevel.Kafka"/> in its answer when it did, else the level
    /// the disk gave. Its own response timeout covers the wait.
    /// </summary>
    [Alias("append-kafka")]
    [ResponseTimeout("00:00:40")]
    ValueTask<AppendResult> AppendAwaitingKafka(AppendBatch batch);

    /// <summary>
    /// Its silo is drained: seal what is written (it ships from there) and deactivate, so the next append activates the
    /// topic on a silo that is not drained. Appends already queued are written first.
    /// </summary>
    [Alias("hand-over")]
    Task HandOver();
}

/// <summary>How safe the records of a request are before it is answered (<c>?durability=</c>).</summary>
[GenerateSerializer, Alias("ingest.durability-level")]
public enum DurabilityLevel
{
    /// <summary>The silo's <c>Ingest:Durability</c>.</summary>
    Default = 0,

    /// <summary>Written to the segment file (the operating system holds it; a process crash loses nothing).</summary>
    Flush = 1,

    /// <summary>fsync'd: a power loss loses nothing.</summary>
    Fsync = 2,

    /// <summary>Acknowledged by Kafka.</summary>
    Kafka = 3,
}

/// <summary>
/// Frames to append. Marked immutable so a call inside one process passes the buffer without a copy:
/// the caller must not reuse the buffer until the call has answered.
/// </summary>
/// <param name="Requests">
/// The requests of the batch that need an answer of their own (an idempotency key, or <see cref="DurabilityLevel.Kafka"/>),
/// in frame order; null when none does. The result's <see cref="AppendResult.Answers"/> follow the same order.
/// </param>
/// <param name="Level">What every request of the batch asked for (a frontend batches requests of one level together).</param>
/// <param name="TraceParent">The W3C trace context of the caller's span for this call (tracing on and sampled), else null.</param>
[GenerateSerializer, Immutable, Alias("ingest.append-batch")]
public sealed record AppendBatch(
    [property: Id(0)] ReadOnlyMemory<byte> Frames,
    [property: Id(1)] int RecordCount,
    [property: Id(2)] RequestMark[]? Requests = null,
    [property: Id(3)] DurabilityLevel Level = DurabilityLevel.Default,
    [property: Id(4)] string? TraceParent = null);

/// <summary>One request inside a batch: where its frames are, and the idempotency scope it was sent with.</summary>
/// <param name="Scope">The producer key's name (empty without keys), a newline, and the request's <c>Idempotency-Key</c>; null without a key.</param>
[GenerateSerializer, Immutable, Alias("ingest.request-mark")]
public readonly record struct RequestMark(
    [property: Id(0)] int FrameStart,
    [property: Id(1)] int FrameLength,
    [property: Id(2)] int Records,
    [property: Id(3)] string? Scope);

/// <summary>The answer to one marked request: what the batch's result says, or, when it repeated an earlier request, that one's answer.</summary>
/// <param name="Level">The level its records reached.</param>
/// <param name="Partition">With <see cref="DurabilityLevel.Kafka"/> and one record: the Kafka partition it went to (else -1).</param>
/// <param name="Offset">…and its offset there (else -1).</param>
[GenerateSerializer, Immutable, Alias("ingest.request-answer")]
public readonly record struct RequestAnswer(
    [property: Id(0)] AppendStatus Status,
    [property: Id(1)] int Accepted,
    [property: Id(2)] bool Replayed,
    [property: Id(3)] string? Detail = null,
    [property: Id(4)] DurabilityLevel Level = DurabilityLevel.Flush,
    [property: Id(5)] int Partition = -1,
    [property: Id(6)] long Offset = -1);

/// <param name="Level">With <see cref="AppendStatus.Appended"/>: the level every record reached (Flush or Fsync).</param>
[GenerateSerializer, Immutable, Alias("ingest.append-result")]
public readonly record struct AppendResult(
    [property: Id(0)] AppendStatus Status,
    [property: Id(1)] string? Detail = null,
    [property: Id(2)] RequestAnswer[]? Answers = null,
    [property: Id(3)] DurabilityLevel Level = DurabilityLevel.Flush)
{
    public static AppendResult Appended => new(AppendStatus.Appended);
}

[GenerateSerializer, Alias("ingest.append-status")]
public enum AppendStatus
{
    /// <summary>On disk with the configured durability.</summary>
    Appended = 0,

    /// <summary><c>Ingest:MaxDiskBytes</c> (or the free-space floor) would be exceeded: try later.</summary>
    DiskFull = 1,

    /// <summary>The write or flush failed (I/O error); the segment was sealed and nothing acknowledged.</summary>
    WriteFailed = 2,

    /// <summary>The batch was not a sequence of valid frames (a frontend bug, never client input).</summary>
    InvalidFrames = 3,

    /// <summary>Not stored: <see cref="DurabilityLevel.Kafka"/> was asked of a silo that does not forward to Kafka.</summary>
    LevelUnavailable = 4,

    /// <summary>
    /// Not stored: the frontend gave up before the records were sent (the cluster could not be reached in time),
    /// or the grain's silo may no longer own the topic (fenced, see <c>MembershipLease</c>).
    /// </summary>
    Unavailable = 10,

    /// <summary>Set by the frontend, never by the grain: too many bytes already wait for this topic.</summary>
    Overloaded = 11,

    /// <summary>
    /// Set by the frontend, never by the grain: the call was sent but did not answer in time, or failed in
    /// flight. The records may or may not be stored; a retry may store them twice.
    /// </summary>
    Indeterminate = 12,
}
