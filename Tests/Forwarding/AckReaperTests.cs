using Confluent.Kafka;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Segments;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Ingest.Tests.Forwarding;

/// <summary>
/// What is done with acknowledged records (<see cref="AckReaper"/>), with a real window, checkpoint file and segment
/// files, and a retire function that records what it was asked to delete: the order of checkpoint and retirement is
/// what keeps an unacknowledged record from being deleted.
/// </summary>
public sealed class AckReaperTests : IDisposable
{
    private readonly ForwardingBed _bed = new();
    private readonly List<(string Segment, Checkpoint? OnDisk)> _retired = [];
    private readonly AckWindow _window;
    private readonly Checkpointer _checkpoint;
    private readonly KnownSegments _segments;
    private readonly TopicProgress _progress;
    private readonly AckReaper _reaper;

    public AckReaperTests()
    {
        _window = new AckWindow(_bed.Context.Pool, () => { });
        _checkpoint = new Checkpointer(_bed.Directory, fsync: false, TimeSpan.FromSeconds(5), _bed.Clock);
        _checkpoint.Load(new Checkpoint(1, SegmentFile.HeaderSize), out _, out _);
        _segments = new KnownSegments(_bed.Directory);
        _progress = new TopicProgress("orders", new AppendCount(), countExisting: true, _bed.Instruments);
        _reaper = new AckReaper("orders", _window, _checkpoint, _progress, _segments, Retire, _bed.Context);
    }

    public void Dispose() => _bed.Dispose();

    private bool Retire(string path)
    {
        // What a crash right now would find on disk: the checkpoint must already be past the segment.
        _retired.Add((Path.GetFileName(path), Checkpoint.Load(_bed.Directory)));
        File.Delete(path);
        return true;
    }

    private static void Deliver(InFlight entry) => entry.OnDelivered(new DeliveryReport<byte[]?, byte[]> { Error = new Error(ErrorCode.NoError) });

    [Fact]
    public void a_sealed_segment_is_retired_only_when_its_end_is_reaped_and_after_the_checkpoint_past_it_is_on_disk()
    {
        _bed.Append(1, "a", "b");
        var (sequence, length) = _bed.Seal();
        _segments.Reload();
        var first = _window.AddRecord(sequence, SegmentFile.HeaderSize + 10, 10, 0, generation: 0);
        var second = _window.AddRecord(sequence, length, 10, 0, generation: 0);
        _window.AddSegmentEnd(sequence, length);

        Deliver(second);
        Assert.False(_reaper.Reap("orders.v1")); // the first record has no report: nothing is taken
        Assert.Empty(_retired);

        Deliver(first);
        Assert.True(_reaper.Reap("orders.v1"));

        var (segment, onDisk) = Assert.Single(_retired);
        Assert.Equal(SegmentFile.FileName(sequence, SegmentFile.SealedExtension), segment);
        Assert.Equal(new Checkpoint(sequence + 1, SegmentFile.HeaderSize), onDisk);
        Assert.Equal(0, _window.Count);
    }

    [Fact]
    public void an_acknowledged_record_moves_the_checkpoint_but_retires_nothing_while_its_segment_is_open()
    {
        _bed.Append(1, "a");
        _segments.Reload();
        var record = _window.AddRecord(1, _bed.ActiveLength, 10, 0, generation: 0);
        Deliver(record);

        Assert.True(_reaper.Reap("orders.v1"));

        Assert.Empty(_retired);
        Assert.Equal(new Checkpoint(1, _bed.ActiveLength), _checkpoint.Acked);
    }

    [Fact]
    public void at_a_start_the_segments_below_a_saved_checkpoint_are_retired_and_the_others_kept()
    {
        _bed.Append(1, "a");
        _bed.Seal();
        _bed.Append(2, "b");
        _bed.Seal();
        _segments.Reload();

        _reaper.RetireBelow(2);

        Assert.Equal([SegmentFile.FileName(1, SegmentFile.SealedExtension)], _retired.Select(r => r.Segment));
        Assert.True(File.Exists(_segments.PathOf(2, sealedFile: true)));
    }
}
