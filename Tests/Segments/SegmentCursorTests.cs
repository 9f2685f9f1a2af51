using System.Text;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Segments;

public sealed class SegmentCursorTests : IDisposable
{
    private readonly TempDirectory _directory = new("ingest-cursor");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void the_cursor_reads_frames_in_order_and_follows_a_segment_that_is_still_being_appended()
    {
        var path = Path.Combine(_directory.Path, "000000000001.active");
        using var segment = ActiveSegment.Create(path, 1000, fsync: false);
        Append(segment, "a", "b");
        using var cursor = SegmentCursor.Open(path, SegmentFile.HeaderSize, bufferSize: 64);

        Assert.Equal(["a", "b"], ReadAll(cursor));
        Assert.Equal(CursorStep.End, cursor.Next(out _, out _));
        Append(segment, "c");
        Assert.Equal(["c"], ReadAll(cursor));
        Assert.Equal(segment.Length, cursor.Position);
    }

    [Fact]
    public void a_frame_larger_than_the_buffer_is_read_whole()
    {
        var path = Path.Combine(_directory.Path, "000000000001.seg");
        var large = new string('x', 200_000);
        using (var segment = ActiveSegment.Create(path, 1000, fsync: false))
        {
            Append(segment, "small", large, "after");
        }

        using var cursor = SegmentCursor.Open(path, SegmentFile.HeaderSize, bufferSize: 4096);

        Assert.Equal(["small", large, "after"], ReadAll(cursor));
    }

    [Fact]
    public void a_torn_frame_is_the_end_and_a_bad_crc_is_corruption_at_its_offset()
    {
        var path = Path.Combine(_directory.Path, "000000000001.seg");
        long second;
        using (var segment = ActiveSegment.Create(path, 1000, fsync: false))
        {
            Append(segment, "a");
            second = segment.Length;
            Append(segment, "b");
        }

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^2]); // torn: the last frame lost its last bytes
        using (var torn = SegmentCursor.Open(path, SegmentFile.HeaderSize))
        {
            Assert.Equal(["a"], ReadAll(torn));
            Assert.Equal(CursorStep.End, torn.Next(out _, out _));
            Assert.Equal(second, torn.Position);
        }

        bytes[^1] ^= 0xFF; // whole, but its CRC no longer matches
        File.WriteAllBytes(path, bytes);
        using var corrupt = SegmentCursor.Open(path, SegmentFile.HeaderSize);
        Assert.Equal(["a"], ReadAll(corrupt));
        Assert.Equal(CursorStep.Corrupt, corrupt.Next(out _, out _));
        Assert.Equal(second, corrupt.Position);
    }

    [Fact]
    public void frames_are_counted_and_a_records_time_is_read_from_an_offset()
    {
        var path = Path.Combine(_directory.Path, "000000000001.seg");
        using (var segment = ActiveSegment.Create(path, 1000, fsync: false))
        {
            Append(segment, "a", "b", "c");
        }

        var offsets = SegmentBuilder.FrameOffsets(path);

        Assert.Equal(3, SegmentCursor.CountFrames(path, SegmentFile.HeaderSize));
        Assert.Equal(1, SegmentCursor.CountFrames(path, offsets[2]));
        Assert.Equal(2001, SegmentCursor.TimestampAt(path, offsets[1]));
        Assert.Null(SegmentCursor.TimestampAt(path, new FileInfo(path).Length));
    }

    private int _time = 2000;

    private void Append(ActiveSegment segment, params string[] values)
    {
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var frame = new byte[RecordFrame.SizeOf(0, bytes.Length)];
            RecordFrame.Write(frame, _time++, [], false, bytes);
            segment.Append([frame], frame.Length);
        }
    }

    private static List<string> ReadAll(SegmentCursor cursor)
    {
        var values = new List<string>();
        while (cursor.Next(out var record, out _) == CursorStep.Record)
        {
            values.Add(Encoding.UTF8.GetString(record.Value));
        }

        return values;
    }
}
