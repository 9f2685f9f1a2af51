using System.Buffers;
using Ingest.Api.Parsing;
using Ingest.Records;
using Ingest.Topics;

namespace Ingest.Api.Appending;

/// <summary>
/// Frames of concurrent requests for one topic, sent to its grain in one call. This is where a record
/// is framed (<see cref="RecordFrame"/>): straight from the request body into a pooled buffer.
/// Every request in the batch awaits the same completion.
/// </summary>
internal sealed class TopicBatch
{
    private byte[] _buffer;

    public TopicBatch(int capacity, long createdTimestamp)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
        CreatedTimestamp = createdTimestamp;
    }

    /// <summary>When its first request joined (<see cref="TimeProvider.GetTimestamp"/>): the oldest wait in the batch.</summary>
    public long CreatedTimestamp { get; }

    public int Length { get; private set; }

    public int RecordCount { get; private set; }

    /// <summary>
    /// Completed by the sender after it has started the next call; the waiting requests continue inline
    /// on that thread (no thread-pool hand-off per request).
    /// </summary>
    public TaskCompletionSource<AppendResult> Completion { get; } = new();

    public ReadOnlyMemory<byte> Frames => _buffer.AsMemory(0, Length);

    private List<RequestMark>? _marks;

    /// <summary>The recorded spans of the requests in the batch (tracing on), for the call's span to link to; null when none.</summary>
    public List<System.Diagnostics.ActivityLink>? Links { get; private set; }

    /// <summary>Adds a request's span to <see cref="Links"/>.</summary>
    public void Link(System.Diagnostics.ActivityContext request) => (Links ??= []).Add(new System.Diagnostics.ActivityLink(request));

    /// <summary>The requests that need an answer of their own (sent with an idempotency key), in frame order; null when none.</summary>
    public RequestMark[]? Marks => _marks?.ToArray();

    /// <summary>
    /// Frames one record; returns the request's index among the marked ones: those with <paramref name="headers"/> (an
    /// idempotency key) or that asked for an answer of their own (<paramref name="mark"/>), else -1.
    /// </summary>
    public int AddRecord(long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value, RequestHeaders? headers = null, bool mark = false)
    {
        var start = Length;
        if (headers is null)
        {
            var size = RecordFrame.SizeOf(hasKey ? key.Length : 0, checked((int)value.Length));
            EnsureRoom(size);
            Length += RecordFrame.Write(_buffer.AsSpan(Length), timestampMs, key, hasKey, value);
            RecordCount++;
            return mark ? Mark(start, 1, null) : -1;
        }

        Span<byte> block = stackalloc byte[headers.MaxBlockLength];
        block = block[..headers.WriteBlock(block, 0)];
        EnsureRoom(RecordFrame.SizeOf(hasKey ? key.Length : 0, checked((int)value.Length), block.Length));
        Length += RecordFrame.Write(_buffer.AsSpan(Length), timestampMs, key, hasKey, block, value);
        RecordCount++;
        return headers.Scope is null && !mark ? -1 : Mark(start, 1, headers.Scope);
    }

    /// <summary>Copies a request's frames; returns its index among the marked requests (-1 without a <paramref name="scope"/> or <paramref name="mark"/>).</summary>
    public int AddFrames(ReadOnlySpan<byte> frames, int recordCount, string? scope = null, bool mark = false)
    {
        var start = Length;
        EnsureRoom(frames.Length);
        frames.CopyTo(_buffer.AsSpan(Length));
        Length += frames.Length;
        RecordCount += recordCount;
        return scope is null && !mark ? -1 : Mark(start, recordCount, scope);
    }

    private int Mark(int start, int records, string? scope)
    {
        _marks ??= [];
        _marks.Add(new RequestMark(start, Length - start, records, scope));
        return _marks.Count - 1;
    }

    /// <summary>
    /// Completes every request of the batch. The buffer goes back to the pool only when the grain
    /// answered: after a timeout the call may still be reading it (a local call passes it by reference).
    /// </summary>
    public void Complete(AppendResult result, bool grainAnswered)
    {
        if (grainAnswered)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        Completion.TrySetResult(result);
    }

    /// <summary>Set (under its queue's lock) when the batch waited too long: if it has not been sent, it never will be.</summary>
    public bool Expired { get; set; }

    /// <summary>
    /// Answers every request of the batch now, while it is still queued or in flight (then it may yet be
    /// stored). Its buffer stays with the batch until the call ends (<see cref="Complete"/>).
    /// </summary>
    public void Expire(AppendResult result) => Completion.TrySetResult(result);

    /// <summary>Returns the buffer of a batch that will never be sent (expired while it waited).</summary>
    public void Discard()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void EnsureRoom(int size)
    {
        if (Length + size <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(Length + size, _buffer.Length * 2));
        _buffer.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
