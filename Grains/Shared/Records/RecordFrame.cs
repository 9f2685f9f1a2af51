using System.Buffers;
using System.Buffers.Binary;

namespace Ingest.Records;

/// <summary>
/// The frame of one record: the same bytes travel from the HTTP frontend to the topic grain and are
/// appended to the segment file unchanged, so a record is framed exactly once, where it arrives.
/// <code>
/// offset  size  field
///      0     4  bodyLength   u32 LE: bytes after this 8-byte header (12 + key + value)
///      4     4  crc          u32 LE: CRC-32C of the 4 length bytes followed by the body
///      8     8  timestamp    i64 LE: ingest time, Unix milliseconds UTC (stamped by the frontend)
///     16     4  keyLength    i32 LE: -1 = no key (Kafka null key), else the key's byte count
///     20     k  key
///   20+k     v  value        the request bytes exactly as received (v = bodyLength - 12 - k)
/// </code>
/// The CRC covers the length too, so a flipped length bit cannot make a shorter frame look valid.
/// </summary>
public static class RecordFrame
{
    /// <summary>Length and CRC.</summary>
    public const int HeaderSize = 8;

    /// <summary>Timestamp and key length, inside the body.</summary>
    public const int BodyPrefixSize = 12;

    /// <summary>Bytes a frame adds to key and value.</summary>
    public const int Overhead = HeaderSize + BodyPrefixSize;

    /// <summary>
    /// Upper bound a reader accepts for <c>bodyLength</c>. Larger values can only come from corruption
    /// (the API limits a record to <c>Ingest:MaxRecordBytes</c>, at most 64 MiB). Keeping the bound low
    /// lets recovery reject a garbage length at once instead of reading to the end of the file.
    /// </summary>
    public const int MaxBodyLength = 64 * 1024 * 1024 + BodyPrefixSize;

    public static int SizeOf(int keyLength, int valueLength) => Overhead + keyLength + valueLength;

    /// <summary>Writes a frame whose value is a contiguous span. Returns the frame size.</summary>
    public static int Write(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> value)
    {
        var valueStart = WritePrefix(destination, timestampMs, key, hasKey, value.Length);
        value.CopyTo(destination[valueStart..]);
        var size = valueStart + value.Length;
        Seal(destination[..size]);
        return size;
    }

    /// <summary>Writes a frame whose value arrives in pieces (a request body). Returns the frame size.</summary>
    public static int Write(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value)
    {
        var valueLength = checked((int)value.Length);
        var valueStart = WritePrefix(destination, timestampMs, key, hasKey, valueLength);
        value.CopyTo(destination[valueStart..]);
        var size = valueStart + valueLength;
        Seal(destination[..size]);
        return size;
    }

    private static int WritePrefix(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, int valueLength)
    {
        var keyLength = hasKey ? key.Length : 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)(BodyPrefixSize + keyLength + valueLength));
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], timestampMs);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], hasKey ? key.Length : -1);
        if (hasKey)
        {
            key.CopyTo(destination[Overhead..]);
        }

        return Overhead + keyLength;
    }

    /// <summary>Computes the CRC of a frame whose length and body are in place.</summary>
    private static void Seal(Span<byte> frame)
    {
        var state = Crc32C.Append(Crc32C.Seed, frame[..4]);
        state = Crc32C.Append(state, frame[HeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Crc32C.Finish(state));
    }

    /// <summary>
    /// Reads the frame at the start of <paramref name="source"/>. <see cref="FrameStatus.Incomplete"/>
    /// means the bytes end inside a plausible frame (a torn tail if nothing follows);
    /// <see cref="FrameStatus.Corrupt"/> means the length is impossible or the CRC does not match.
    /// </summary>
    public static FrameStatus TryRead(ReadOnlySpan<byte> source, out RecordView record, out int frameSize)
    {
        record = default;
        frameSize = 0;
        if (source.Length < HeaderSize)
        {
            return FrameStatus.Incomplete;
        }

        var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(source);
        if (bodyLength < BodyPrefixSize || bodyLength > MaxBodyLength)
        {
            return FrameStatus.Corrupt;
        }

        var size = HeaderSize + (int)bodyLength;
        if (source.Length < size)
        {
            return FrameStatus.Incomplete;
        }

        var body = source[HeaderSize..size];
        var state = Crc32C.Append(Crc32C.Seed, source[..4]);
        state = Crc32C.Append(state, body);
        if (Crc32C.Finish(state) != BinaryPrimitives.ReadUInt32LittleEndian(source[4..]))
        {
            return FrameStatus.Corrupt;
        }

        var keyLength = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
        if (keyLength < -1 || keyLength > body.Length - BodyPrefixSize)
        {
            return FrameStatus.Corrupt;
        }

        var keyBytes = Math.Max(keyLength, 0);
        record = new RecordView(
            BinaryPrimitives.ReadInt64LittleEndian(body),
            keyLength >= 0,
            body.Slice(BodyPrefixSize, keyBytes),
            body[(BodyPrefixSize + keyBytes)..]);
        frameSize = size;
        return FrameStatus.Ok;
    }

    /// <summary>
    /// Walks a buffer of whole frames, checking every length and CRC. Returns the record count, or -1
    /// if the buffer is not exactly a sequence of valid frames.
    /// </summary>
    public static int CountValidFrames(ReadOnlySpan<byte> frames)
    {
        var count = 0;
        while (!frames.IsEmpty)
        {
            if (TryRead(frames, out _, out var size) != FrameStatus.Ok)
            {
                return -1;
            }

            frames = frames[size..];
            count++;
        }

        return count;
    }
}

public enum FrameStatus
{
    Ok,
    Incomplete,
    Corrupt,
}

/// <summary>One record read from a frame; the spans point into the frame's buffer.</summary>
public readonly ref struct RecordView(long timestampMs, bool hasKey, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
{
    public long TimestampMs { get; } = timestampMs;

    public bool HasKey { get; } = hasKey;

    public ReadOnlySpan<byte> Key { get; } = key;

    public ReadOnlySpan<byte> Value { get; } = value;
}
