using Ingest.Segments;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Segments;

public sealed class SegmentRecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void a_clean_segment_is_left_untouched()
    {
        var path = SegmentBuilder.Write(_dir.Path, 10);
        var before = File.ReadAllBytes(path);

        var report = SegmentRecovery.Recover(path, fsync: false, NullLogger.Instance, null);

        Assert.Equal(ScanEnd.Clean, report.Scan.End);
        Assert.Equal(10, report.Scan.Records);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void torn_tail_is_truncated_to_the_last_whole_record()
    {
        var path = SegmentBuilder.Write(_dir.Path, 10);
        var cleanLength = new FileInfo(path).Length;
        var lastFrame = SegmentBuilder.FrameOffsets(path)[^1];
        // A crash in the middle of writing an 11th record: copy the first half of a frame to the end.
        var bytes = File.ReadAllBytes(path);
        var half = bytes.AsSpan((int)lastFrame, (int)(cleanLength - lastFrame) / 2).ToArray();
        File.AppendAllText(path, string.Empty);
        using (var stream = new FileStream(path, FileMode.Append))
        {
            stream.Write(half);
        }

        var report = SegmentRecovery.Recover(path, fsync: false, NullLogger.Instance, null);

        Assert.Equal(ScanEnd.TornTail, report.Scan.End);
        Assert.Equal(10, report.Scan.Records);
        Assert.Equal(cleanLength, new FileInfo(path).Length);
        Assert.Null(report.QuarantinePath);
        Assert.Equal(ScanEnd.Clean, SegmentReader.Scan(path).End);
    }

    [Fact]
    public void a_flipped_byte_mid_file_cuts_the_segment_there_and_keeps_the_rest_aside()
    {
        var path = SegmentBuilder.Write(_dir.Path, 10);
        var original = File.ReadAllBytes(path);
        var fifth = SegmentBuilder.FrameOffsets(path)[4];
        var damaged = (byte[])original.Clone();
        damaged[fifth + 20] ^= 0x40; // inside the fifth record's value
        File.WriteAllBytes(path, damaged);

        var report = SegmentRecovery.Recover(path, fsync: false, NullLogger.Instance, null);

        Assert.Equal(ScanEnd.Corrupt, report.Scan.End);
        Assert.Equal(4, report.Scan.Records);
        Assert.Equal(fifth, new FileInfo(path).Length);
        Assert.NotNull(report.QuarantinePath);
        // Nothing is lost silently: the cut bytes are kept unchanged beside the segment.
        Assert.Equal(damaged.AsSpan((int)fifth).ToArray(), File.ReadAllBytes(report.QuarantinePath!));
        Assert.Equal(ScanEnd.Clean, SegmentReader.Scan(path).End);
    }

    [Fact]
    public void a_file_without_a_segment_header_is_moved_aside_whole()
    {
        var path = Path.Combine(_dir.Path, "000000000001.active");
        File.WriteAllBytes(path, "not a segment at all"u8.ToArray());

        var report = SegmentRecovery.Recover(path, fsync: false, NullLogger.Instance, null);

        Assert.Equal(ScanEnd.BadHeader, report.Scan.End);
        Assert.False(File.Exists(path));
        Assert.Equal("not a segment at all"u8.ToArray(), File.ReadAllBytes(report.QuarantinePath!));
    }

    [Fact]
    public void recovery_never_throws_on_random_truncation_or_damage_and_keeps_every_record_before_it()
    {
        var path = SegmentBuilder.Write(_dir.Path, 50);
        var original = File.ReadAllBytes(path);
        var offsets = SegmentBuilder.FrameOffsets(path);
        var random = new Random(20261122);

        for (var round = 0; round < 200; round++)
        {
            var damaged = (byte[])original.Clone();
            var cut = random.Next(16, damaged.Length + 1);
            var flip = random.Next(16, cut + 1);
            if (flip < cut)
            {
                damaged[flip] ^= (byte)(1 << random.Next(8));
            }

            File.WriteAllBytes(path, damaged[..cut]);
            foreach (var stale in Directory.GetFiles(_dir.Path, "*.corrupt-*"))
            {
                File.Delete(stale);
            }

            var report = SegmentRecovery.Recover(path, fsync: false, NullLogger.Instance, null);

            var firstDamage = Math.Min(cut, flip < cut ? flip : cut);
            var wholeBefore = offsets.Count(o => o < firstDamage && NextOffset(offsets, o, original.Length) <= firstDamage);
            Assert.True(report.Scan.Records >= wholeBefore, $"round {round}: kept {report.Scan.Records}, {wholeBefore} records lay before the damage");
            Assert.Equal(ScanEnd.Clean, SegmentReader.Scan(path).End);
        }
    }

    private static long NextOffset(List<long> offsets, long offset, long end)
    {
        var index = offsets.IndexOf(offset);
        return index + 1 < offsets.Count ? offsets[index + 1] : end;
    }
}
