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
}

/// <summary>
/// Frames to append. Marked immutable so a call inside one process passes the buffer without a copy:
/// the caller must not reuse the buffer until the call has answered.
/// </summary>
/// <param name="Requests">
/// The requests of the batch that need an answer of their own (those with an idempotency key), in frame
/// order; null when none does. The result's <see cref="AppendResult.Answers"/> follow the same order.
/// </param>
[GenerateSerializer, Immutable, Alias("ingest.append-batch")]
public sealed record AppendBatch(
    [property: Id(0)] ReadOnlyMemory<byte> Frames,
    [property: Id(1)] int RecordCount,
    [property: Id(2)] RequestMark[]? Requests = null);

/// <summary>One request inside a batch: where its frames are, and the idempotency scope it was sent with.</summary>
/// <param name="Scope">The producer key's name (empty without keys), a newline, and the request's <c>Idempotency-Key</c>.</param>
[GenerateSerializer, Immutable, Alias("ingest.request-mark")]
public readonly record struct RequestMark(
    [property: Id(0)] int FrameStart,
    [property: Id(1)] int FrameLength,
    [property: Id(2)] int Records,
    [property: Id(3)] string Scope);

/// <summary>The answer to one marked request: what the batch's result says, or, when it repeated an earlier request, that one's answer.</summary>
[GenerateSerializer, Immutable, Alias("ingest.request-answer")]
public readonly record struct RequestAnswer(
    [property: Id(0)] AppendStatus Status,
    [property: Id(1)] int Accepted,
    [property: Id(2)] bool Replayed,
    [property: Id(3)] string? Detail = null);

[GenerateSerializer, Immutable, Alias("ingest.append-result")]
public readonly record struct AppendResult(
    [property: Id(0)] AppendStatus Status,
    [property: Id(1)] string? Detail = null,
    [property: Id(2)] RequestAnswer[]? Answers = null)
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
