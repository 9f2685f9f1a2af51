using System.Buffers.Binary;
using System.Text;

namespace Ingest.Records;

/// <summary>
/// A record's optional headers inside its frame (<see cref="RecordFrame"/>): name/value pairs that go to
/// Kafka as record headers (the idempotency key, trace context). Encoded once per request by the frontend:
/// <code>
/// u16 LE  count
/// count × ( u8 nameLength, name (UTF-8, 1..255 bytes), u16 LE valueLength, value (0..65535 bytes) )
/// </code>
/// </summary>
public static class FrameHeaders
{
    /// <summary>Every record of a request sent with an <c>Idempotency-Key</c> carries it under this name.</summary>
    public const string IdempotencyKey = "idempotency-key";

    /// <summary>With producer keys on, the producer key's name (not the secret) of such a request.</summary>
    public const string Producer = "ingest-producer";

    /// <summary>In a batch sent with an idempotency key, each record's position in the request (0, 1, …).</summary>
    public const string IdempotencyIndex = "idempotency-index";

    /// <summary>The W3C trace context of the request that brought the record, so a consumer continues its trace.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The names above as UTF-8, for reading a record's headers without a string.</summary>
    public static ReadOnlySpan<byte> IdempotencyKeyUtf8 => "idempotency-key"u8;

    public static ReadOnlySpan<byte> ProducerUtf8 => "ingest-producer"u8;

    public static ReadOnlySpan<byte> IdempotencyIndexUtf8 => "idempotency-index"u8;

    public static ReadOnlySpan<byte> TraceParentUtf8 => "traceparent"u8;

    public const int MaxNameBytes = byte.MaxValue;

    public const int MaxValueBytes = ushort.MaxValue;

    /// <summary>The block for <paramref name="headers"/>; empty when there are none (the frame then has no header block).</summary>
    public static byte[] Encode(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (headers.Count == 0)
        {
            return [];
        }

        var size = 2;
        foreach (var (name, value) in headers)
        {
            size += 3 + Measure(name, 1, MaxNameBytes, "name") + Measure(value, 0, MaxValueBytes, "value");
        }

        var block = new byte[size];
        BinaryPrimitives.WriteUInt16LittleEndian(block, checked((ushort)headers.Count));
        var at = 2;
        foreach (var (name, value) in headers)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name, block.AsSpan(at + 1));
            block[at] = (byte)nameBytes;
            at += 1 + nameBytes;
            var valueBytes = Encoding.UTF8.GetBytes(value, block.AsSpan(at + 2));
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(at), (ushort)valueBytes);
            at += 2 + valueBytes;
        }

        return block;
    }

    private static int Measure(string text, int min, int max, string what)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        return bytes >= min && bytes <= max ? bytes : throw new ArgumentException($"A header {what} must be {min} to {max} bytes of UTF-8 (was {bytes}).");
    }

    /// <summary>The length of the block at the start of <paramref name="source"/>; false if it is not a whole, valid block.</summary>
    public static bool TryMeasure(ReadOnlySpan<byte> source, out int length)
    {
        length = 0;
        if (source.Length < 2)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(source);
        var at = 2;
        for (var i = 0; i < count; i++)
        {
            if (source.Length < at + 1 || source[at] == 0)
            {
                return false;
            }

            at += 1 + source[at];
            if (source.Length < at + 2)
            {
                return false;
            }

            at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(source[at..]);
            if (source.Length < at)
            {
                return false;
            }
        }

        length = at;
        return count > 0;
    }

    /// <summary>The headers of one record, read in place (the block was checked when the frame was read).</summary>
    public readonly ref struct Reader(ReadOnlySpan<byte> block)
    {
        private readonly ReadOnlySpan<byte> _block = block;

        public bool IsEmpty => _block.IsEmpty;

        public int Count => _block.IsEmpty ? 0 : BinaryPrimitives.ReadUInt16LittleEndian(_block);

        /// <summary>The value of the first header named <paramref name="name"/>.</summary>
        public bool TryGet(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            foreach (var header in this)
            {
                if (header.Name.SequenceEqual(name))
                {
                    value = header.Value;
                    return true;
                }
            }

            value = default;
            return false;
        }

        public Enumerator GetEnumerator() => new(_block);
    }

    public readonly ref struct Header(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        public ReadOnlySpan<byte> Name { get; } = name;

        public ReadOnlySpan<byte> Value { get; } = value;
    }

    public ref struct Enumerator(ReadOnlySpan<byte> block)
    {
        private readonly ReadOnlySpan<byte> _block = block;
        private int _left = block.IsEmpty ? 0 : BinaryPrimitives.ReadUInt16LittleEndian(block);
        private int _at = 2;

        public Header Current { get; private set; }

        public bool MoveNext()
        {
            if (_left == 0)
            {
                return false;
            }

            _left--;
            var nameLength = _block[_at];
            var name = _block.Slice(_at + 1, nameLength);
            _at += 1 + nameLength;
            var valueLength = BinaryPrimitives.ReadUInt16LittleEndian(_block[_at..]);
            Current = new Header(name, _block.Slice(_at + 2, valueLength));
            _at += 2 + valueLength;
            return true;
        }
    }
}
