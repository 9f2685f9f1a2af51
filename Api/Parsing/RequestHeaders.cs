using System.Buffers.Binary;
using System.Buffers.Text;
using Ingest.Records;

namespace Ingest.Api.Parsing;

/// <summary>
/// The frame headers every record of one request carries (<see cref="FrameHeaders"/>): with an <c>Idempotency-Key</c>,
/// the key, the producer key's name when keys are on, and, for each record of a batch, its position in the request
/// (<c>idempotency-index</c>), so a consumer can tell a record that a failover let through twice by (key, index);
/// with trace context, the request's <c>traceparent</c>. Encoded once per request; each record adds only its index.
/// A request with neither has no headers at all (null), and its records grow by nothing.
/// </summary>
internal sealed class RequestHeaders
{
    private static ReadOnlySpan<byte> IndexName => FrameHeaders.IdempotencyIndexUtf8;

    private readonly byte[] _block; // the count (rewritten per record), then the entries every record has
    private readonly int _count;
    private readonly bool _indexed;

    /// <param name="idempotencyKey">The request's key, or null.</param>
    /// <param name="producer">The producer key's name (with an idempotency key and keys on), or null.</param>
    /// <param name="traceParent">The W3C trace context to store with the records, or null.</param>
    /// <param name="indexed">True for a batch: with an idempotency key every record also gets its index.</param>
    public RequestHeaders(string? idempotencyKey, string? producer, string? traceParent, bool indexed)
    {
        var entries = new List<KeyValuePair<string, string>>(3);
        if (idempotencyKey is not null)
        {
            entries.Add(new(FrameHeaders.IdempotencyKey, idempotencyKey));
            if (producer is not null)
            {
                entries.Add(new(FrameHeaders.Producer, producer));
            }

            Scope = (producer ?? string.Empty) + "\n" + idempotencyKey;
            RouteKey = System.Text.Encoding.UTF8.GetBytes(Scope);
        }

        if (traceParent is not null)
        {
            entries.Add(new(FrameHeaders.TraceParent, traceParent));
        }

        _block = FrameHeaders.Encode(entries);
        _indexed = indexed && idempotencyKey is not null;
        _count = entries.Count + (_indexed ? 1 : 0);
    }

    /// <summary>
    /// With an idempotency key, the scope's bytes: an unkeyed request of a sharded topic goes to the shard of these,
    /// so a retry meets the same grain (null without a key).
    /// </summary>
    public byte[]? RouteKey { get; }

    /// <summary>What the topic grain deduplicates by: the producer key's name (empty without keys), a newline, the key; null without a key.</summary>
    public string? Scope { get; }

    /// <summary>The most bytes <see cref="WriteBlock"/> writes.</summary>
    public int MaxBlockLength => _block.Length + (_indexed ? 1 + IndexName.Length + 2 + 10 : 0);

    /// <summary>Writes the header block of the record at <paramref name="index"/> of the request; returns its length.</summary>
    public int WriteBlock(Span<byte> destination, int index)
    {
        _block.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)_count);
        var at = _block.Length;
        if (!_indexed)
        {
            return at;
        }

        destination[at] = (byte)IndexName.Length;
        IndexName.CopyTo(destination[(at + 1)..]);
        at += 1 + IndexName.Length;
        Utf8Formatter.TryFormat(index, destination[(at + 2)..], out var digits);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[at..], (ushort)digits);
        return at + 2 + digits;
    }

    /// <summary>A valid key: 1 to 255 printable ASCII characters (as in the IETF Idempotency-Key draft's examples: UUIDs, tokens).</summary>
    public static bool IsValidKey(string key) =>
        key.Length is > 0 and <= FrameHeaders.MaxNameBytes && key.All(c => c is > ' ' and <= '~');
}
