using System.Buffers;
using System.Buffers.Binary;

namespace Ingest.Records;

/// <summary>
/// The frame of one record: the same bytes travel from the HTTP frontend to the topic grain and are
/// appended to the segment file unchanged, so a record is framed exactly once, where it arrives.
/// <code>
/// offset  size  field
///      0     4  bodyLength   u32 LE: bytes after this 8-byte header (12 + key + headers + value)
///      4     4  crc          u32 LE: CRC-32C of the 4 length bytes followed by the body
///      8     8  timestamp    i64 LE: ingest time, Unix milliseconds UTC (stamped by the frontend)
///     16     4  keyField     i32 LE: -1 = no key (Kafka null key), else the key's byte count;
///                            with bit 30 set (0x40000000), a header block follows the key and the
///                            low 30 bits are the key's byte count (0x3FFFFFFF = no key)
///     20     k  key
///   20+k     h  headers      only with bit 30: see <see cref="FrameHeaders"/> (name/value pairs, sent to Kafka as record headers)
/// 20+k+h     v  value        the request bytes exactly as received (v = bodyLength - 12 - k - h)
/// </code>
/// The CRC covers the length too, so a flipped length bit cannot make a shorter frame look valid. Frames
/// without headers are byte for byte those written before headers existed, so every older segment reads
/// as it did, and a record without headers grows by nothing.
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

    /// <summary>Bit 30 of the key field: a header block follows the key.</summary>
    private const int HeadersFlag = 0x4000_0000;

    /// <summary>The key field's low 30 bits when a frame with headers has no key.</summary>
    private const int NoKeyWithHeaders = 0x3FFF_FFFF;

    public static int SizeOf(int keyLength, int valueLength) => Overhead + keyLength + valueLength;

    /// <summary>The size of a frame with an encoded header block (<see cref="FrameHeaders"/>; empty = none).</summary>
    public static int SizeOf(int keyLength, int valueLength, int headersLength) => Overhead + keyLength + headersLength + valueLength;

    /// <summary>Writes a frame whose value is a contiguous span. Returns the frame size.</summary>
    public static int Write(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> value) =>
        Write(destination, timestampMs, key, hasKey, [], value);

    /// <summary>Writes a frame whose value arrives in pieces (a request body). Returns the frame size.</summary>
    public static int Write(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value) =>
        Write(destination, timestampMs, key, hasKey, [], value);

    /// <summary>Writes a frame with an encoded header block (<see cref="FrameHeaders"/>; empty = none). Returns the frame size.</summary>
    public static int Write(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> value)
    {
        var valueStart = WritePrefix(destination, timestampMs, key, hasKey, headers, value.Length);
        value.CopyTo(destination[valueStart..]);
        var size = valueStart + value.Length;
        Seal(destination[..size]);
        return size;
    }

    /// <summary>Writes a frame with an encoded header block whose value arrives in pieces. Returns the frame size.</summary>
    public static int Write(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> headers, in ReadOnlySequence<byte> value)
    {
        var valueLength = checked((int)value.Length);
        var valueStart = WritePrefix(destination, timestampMs, key, hasKey, headers, valueLength);
        value.CopyTo(destination[valueStart..]);
        var size = valueStart + valueLength;
        Seal(destination[..size]);
        return size;
    }

    private static int WritePrefix(Span<byte> destination, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> headers, int valueLength)
    {
        var keyLength = hasKey ? key.Length : 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)(BodyPrefixSize + keyLength + headers.Length + valueLength));
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], timestampMs);
        var keyField = headers.IsEmpty
            ? (hasKey ? key.Length : -1)
            : HeadersFlag | (hasKey ? key.Length : NoKeyWithHeaders);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], keyField);
        if (hasKey)
        {
            key.CopyTo(destination[Overhead..]);
        }

        headers.CopyTo(destination[(Overhead + keyLength)..]);
        return Overhead + keyLength + headers.Length;
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

        var keyField = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
        var withHeaders = keyField > 0 && (keyField & HeadersFlag) != 0;
        var hasKey = withHeaders ? (keyField & NoKeyWithHeaders) != NoKeyWithHeaders : keyField >= 0;
        var keyBytes = !hasKey ? 0 : withHeaders ? keyField & NoKeyWithHeaders : keyField;
        if (keyField < -1 || keyBytes > body.Length - BodyPrefixSize)
        {
            return FrameStatus.Corrupt;
        }

        var rest = body[(BodyPrefixSize + keyBytes)..];
        var headersLength = 0;
        if (withHeaders && !FrameHeaders.TryMeasure(rest, out headersLength))
        {
            return FrameStatus.Corrupt;
        }

        record = new RecordView(
            BinaryPrimitives.ReadInt64LittleEndian(body),
            hasKey,
            body.Slice(BodyPrefixSize, keyBytes),
            rest[headersLength..],
            rest[..headersLength]);
        frameSize = size;
        return FrameStatus.Ok;
    }

    /// <summary>
    /// The ingest time of the frame at the start of <paramref name="frames"/> and its size, without checking it: for
    /// frames already checked (<see cref="CountValidFrames"/>), to walk them at the cost of two reads each.
    /// </summary>
    public static long TimestampOf(ReadOnlySpan<byte> frames, out int frameSize)
    {
        frameSize = HeaderSize + (int)BinaryPrimitives.ReadUInt32LittleEndian(frames);
        return BinaryPrimitives.ReadInt64LittleEndian(frames[HeaderSize..]);
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
public readonly ref struct RecordView(long timestampMs, bool hasKey, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ReadOnlySpan<byte> headers = default)
{
    private readonly ReadOnlySpan<byte> _headers = headers;

    /// <summary>The record's headers (none for most records), read in place.</summary>
    public FrameHeaders.Reader Headers => new(_headers);

    public long TimestampMs { get; } = timestampMs;

    public bool HasKey { get; } = hasKey;

    public ReadOnlySpan<byte> Key { get; } = key;

    public ReadOnlySpan<byte> Value { get; } = value;
}
