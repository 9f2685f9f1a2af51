using System.Buffers;
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

    public TopicBatch(int capacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    public int Length { get; private set; }

    public int RecordCount { get; private set; }

    /// <summary>
    /// Completed by the sender after it has started the next call; the waiting requests continue inline
    /// on that thread (no thread-pool hand-off per request).
    /// </summary>
    public TaskCompletionSource<AppendResult> Completion { get; } = new();

    public ReadOnlyMemory<byte> Frames => _buffer.AsMemory(0, Length);

    public void AddRecord(long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value)
    {
        var size = RecordFrame.SizeOf(hasKey ? key.Length : 0, checked((int)value.Length));
        EnsureRoom(size);
        Length += RecordFrame.Write(_buffer.AsSpan(Length), timestampMs, key, hasKey, value);
        RecordCount++;
    }

    public void AddFrames(ReadOnlySpan<byte> frames, int recordCount)
    {
        EnsureRoom(frames.Length);
        frames.CopyTo(_buffer.AsSpan(Length));
        Length += frames.Length;
        RecordCount += recordCount;
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
