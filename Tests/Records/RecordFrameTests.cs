using System.Text;
using Ingest.Records;

namespace Ingest.Tests.Records;

public sealed class RecordFrameTests
{
    [Fact]
    public void a_frame_round_trips_timestamp_key_and_value()
    {
        var buffer = new byte[RecordFrame.SizeOf(3, 5)];
        var size = RecordFrame.Write(buffer, 1_700_000_000_123, "k-1"u8, hasKey: true, "hello"u8);

        Assert.Equal(buffer.Length, size);
        Assert.Equal(FrameStatus.Ok, RecordFrame.TryRead(buffer, out var record, out var read));
        Assert.Equal(size, read);
        Assert.Equal(1_700_000_000_123, record.TimestampMs);
        Assert.True(record.HasKey);
        Assert.Equal("k-1", Encoding.UTF8.GetString(record.Key));
        Assert.Equal("hello", Encoding.UTF8.GetString(record.Value));
    }

    [Fact]
    public void a_missing_key_is_distinct_from_an_empty_key()
    {
        var none = new byte[RecordFrame.SizeOf(0, 1)];
        var empty = new byte[RecordFrame.SizeOf(0, 1)];
        RecordFrame.Write(none, 1, [], hasKey: false, "v"u8);
        RecordFrame.Write(empty, 1, [], hasKey: true, "v"u8);

        RecordFrame.TryRead(none, out var a, out _);
        var noneHasKey = a.HasKey;
        RecordFrame.TryRead(empty, out var b, out _);

        Assert.False(noneHasKey);
        Assert.True(b.HasKey);
    }

    [Fact]
    public void every_single_bit_flip_is_detected()
    {
        var frame = new byte[RecordFrame.SizeOf(2, 16)];
        RecordFrame.Write(frame, 42, "ab"u8, hasKey: true, "0123456789abcdef"u8);

        for (var bit = 0; bit < frame.Length * 8; bit++)
        {
            var copy = (byte[])frame.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(FrameStatus.Ok, RecordFrame.TryRead(copy, out _, out _));
        }
    }

    [Fact]
    public void a_cut_frame_reads_as_incomplete()
    {
        var frame = new byte[RecordFrame.SizeOf(0, 100)];
        RecordFrame.Write(frame, 1, [], false, new byte[100]);

        for (var length = 0; length < frame.Length; length++)
        {
            Assert.Equal(FrameStatus.Incomplete, RecordFrame.TryRead(frame.AsSpan(0, length), out _, out _));
        }
    }

    [Fact]
    public void crc32c_matches_the_published_check_value()
    {
        // The standard check value of CRC-32C (Castagnoli) for "123456789".
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void counting_frames_rejects_a_buffer_with_trailing_garbage()
    {
        var frame = new byte[RecordFrame.SizeOf(0, 4)];
        RecordFrame.Write(frame, 1, [], false, "abcd"u8);
        var two = frame.Concat(frame).ToArray();

        Assert.Equal(2, RecordFrame.CountValidFrames(two));
        Assert.Equal(-1, RecordFrame.CountValidFrames(two.Concat(new byte[] { 1, 2, 3 }).ToArray()));
    }

    [Fact]
    public void headers_round_trip_with_and_without_a_key_and_do_not_disturb_key_or_value()
    {
        var block = FrameHeaders.Encode([new("idempotency-key", "k-42"), new("traceparent", "00-abc-def-01"), new("empty", "")]);
        foreach (var hasKey in new[] { true, false })
        {
            var frame = new byte[RecordFrame.SizeOf(hasKey ? 3 : 0, 5, block.Length)];
            var size = RecordFrame.Write(frame, 7, "key"u8, hasKey, block, "value"u8);

            Assert.Equal(frame.Length, size);
            Assert.Equal(FrameStatus.Ok, RecordFrame.TryRead(frame, out var record, out var read));
            Assert.Equal(size, read);
            Assert.Equal(hasKey, record.HasKey);
            Assert.Equal(hasKey ? "key" : "", Encoding.UTF8.GetString(record.Key));
            Assert.Equal("value", Encoding.UTF8.GetString(record.Value));
            var headers = new List<string>();
            foreach (var header in record.Headers)
            {
                headers.Add(Encoding.UTF8.GetString(header.Name) + "=" + Encoding.UTF8.GetString(header.Value));
            }

            Assert.Equal(["idempotency-key=k-42", "traceparent=00-abc-def-01", "empty="], headers);
            Assert.True(record.Headers.TryGet("traceparent"u8, out var trace));
            Assert.Equal("00-abc-def-01", Encoding.UTF8.GetString(trace));
            Assert.False(record.Headers.TryGet("absent"u8, out _));
        }
    }

    [Fact]
    public void a_record_without_headers_is_byte_for_byte_the_frame_written_before_headers_existed()
    {
        var plain = new byte[RecordFrame.SizeOf(1, 2)];
        var viaHeadersOverload = new byte[RecordFrame.SizeOf(1, 2, 0)];
        RecordFrame.Write(plain, 9, "k"u8, true, "vv"u8);
        RecordFrame.Write(viaHeadersOverload, 9, "k"u8, true, [], "vv"u8);

        Assert.Equal(plain, viaHeadersOverload);
        // The layout of a frame from before headers: length, CRC, timestamp, key length 1, key, value.
        Assert.Equal(1, BitConverter.ToInt32(plain, 16));
        RecordFrame.TryRead(plain, out var record, out _);
        Assert.True(record.Headers.IsEmpty);
    }

    [Fact]
    public void a_header_block_whose_lengths_run_past_the_frame_is_corrupt_even_with_a_valid_crc()
    {
        var block = FrameHeaders.Encode([new("idempotency-key", "k")]);
        block[^3] = 200; // the value's length now runs past the block (and the frame)
        var frame = new byte[RecordFrame.SizeOf(0, 0, block.Length)];
        RecordFrame.Write(frame, 1, [], false, block, []);

        Assert.Equal(FrameStatus.Corrupt, RecordFrame.TryRead(frame, out _, out _));
    }

    [Fact]
    public void a_header_name_or_value_over_its_limit_is_refused_when_encoded()
    {
        Assert.Throws<ArgumentException>(() => FrameHeaders.Encode([new(new string('n', 256), "v")]));
        Assert.Throws<ArgumentException>(() => FrameHeaders.Encode([new("", "v")]));
        Assert.Throws<ArgumentException>(() => FrameHeaders.Encode([new("n", new string('v', 65536))]));
    }
}
