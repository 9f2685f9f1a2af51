using Ingest.Forwarding;
using Ingest.Segments;

namespace Ingest.Tests.Forwarding;

/// <summary>
/// The decisions of one topic log — what is sent, when the checkpoint moves, when a segment is retired,
/// how a failure rewinds — driven turn by turn against a fake Kafka, with no silo and no scheduler.
/// </summary>
public sealed class TopicLogTests : IDisposable
{
    private readonly ForwardingBed _bed = new();

    public void Dispose() => _bed.Dispose();

    [Fact]
    public void records_are_sent_in_file_order_and_the_checkpoint_moves_only_over_an_acknowledged_prefix()
    {
        _bed.Append(1, "a", "b", "c");
        var log = _bed.NewLog();

        log.Serve();
        Assert.Equal(["a", "b", "c"], _bed.Sender.Values);
        Assert.All(_bed.Sender.All, s => Assert.Equal("orders.v1", s.Topic));

        _bed.Sender.Deliver(1, 2); // b and c are acknowledged, a is not
        log.Serve();
        Assert.Equal(0, log.Progress.ShippedRecords);
        Assert.Equal(new Checkpoint(1, SegmentFile.HeaderSize), log.Progress.Acked);

        _bed.Sender.Deliver(0);
        _bed.Clock.Advance(TimeSpan.FromSeconds(1)); // the checkpoint interval has passed
        log.Serve();
        Assert.Equal(3, log.Progress.ShippedRecords);
        Assert.Equal(new Checkpoint(1, _bed.ActiveLength), Checkpoint.Load(_bed.Directory));
    }

    [Fact]
    public void a_sealed_segment_is_retired_only_once_every_record_in_it_is_acknowledged()
    {
        _bed.Append(1, "a", "b");
        _bed.Seal();
        _bed.Append(2, "c");
        var log = _bed.NewLog();

        log.Serve();
        Assert.Equal(["a", "b", "c"], _bed.Sender.Values);
        _bed.Sender.Deliver(0, 2);
        log.Serve();
        Assert.Empty(_bed.Retired); // b of segment 1 has no report yet

        _bed.Sender.Deliver(1);
        log.Serve();
        Assert.Equal(["000000000001.seg"], _bed.Retired);
        Assert.Equal(new Checkpoint(2, _bed.ActiveLength), log.Progress.Acked);
        Assert.Equal(new Checkpoint(2, SegmentFile.HeaderSize), Checkpoint.Load(_bed.Directory)); // written before the retirement
    }

    [Fact]
    public void a_failed_report_rewinds_to_the_checkpoint_once_no_report_is_pending_and_everything_after_it_is_sent_again()
    {
        _bed.Append(1, "a", "b", "c", "d");
        var log = _bed.NewLog();
        log.Serve();
        _bed.Sender.Deliver(0);
        _bed.Sender.Fail(1);

        var waiting = log.Serve(); // c and d still pending: nothing is resent yet
        Assert.Equal(Turn.Idle, waiting);
        Assert.Equal(4, _bed.Sender.All.Count);

        _bed.Sender.Deliver(2, 3);
        var backoff = log.Serve();
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Wait);
        Assert.Equal(4, _bed.Sender.All.Count);

        _bed.Clock.Advance(TimeSpan.FromMilliseconds(100));
        log.Serve();
        Assert.Equal(["a", "b", "c", "d", "b", "c", "d"], _bed.Sender.Values); // from the checkpoint after a: b again, and all after it
        Assert.Equal(1, log.Progress.ShippedRecords);
    }

    [Fact]
    public void repeated_failures_back_off_doubling_up_to_the_maximum_and_a_delivery_resets_it()
    {
        _bed.Append(1, "a");
        var log = _bed.NewLog();
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            log.Serve();
            _bed.Sender.Fail(_bed.Sender.All.Count - 1);
            var turn = log.Serve();
            waits.Add(turn.Wait!.Value);
            _bed.Clock.Advance(turn.Wait.Value);
        }

        Assert.Equal([100, 200, 400, 800, 1600, 3200, 5000, 5000], waits.Select(w => (int)w.TotalMilliseconds));
        log.Serve();
        _bed.Sender.Deliver(_bed.Sender.All.Count - 1);
        log.Serve();
        Assert.Equal(1, log.Progress.ShippedRecords);
        _bed.Append(1, "b");
        log.Segments.Appended(1, _bed.ActiveLength);
        log.Serve();
        _bed.Sender.Fail(_bed.Sender.All.Count - 1);
        Assert.Equal(TimeSpan.FromMilliseconds(100), log.Serve().Wait);
    }

    [Fact]
    public void records_of_a_replaced_producer_get_its_grace_and_are_then_sent_again_through_the_new_one()
    {
        _bed.Append(1, "a", "b");
        var log = _bed.NewLog();
        log.Serve();
        _bed.Sender.Deliver(0);
        _bed.Sender.Generation = 1; // replaced: b's report may never come

        _bed.Append(1, "c");
        log.Segments.Appended(1, _bed.ActiveLength);
        var waiting = log.Serve();
        Assert.Equal(["a", "b"], _bed.Sender.Values); // c does not join b, whose producer is gone
        Assert.Equal(KafkaSender.ReplacedProducerGrace, waiting.Wait);

        _bed.Clock.Advance(KafkaSender.ReplacedProducerGrace);
        log.Serve();
        log.Serve();
        Assert.Equal(["a", "b", "b", "c"], _bed.Sender.Values);
        Assert.Equal([0, 0, 1, 1], _bed.Sender.All.Select(s => s.Generation));
        _bed.Sender.Deliver(1); // the old producer's late report changes nothing now
        log.Serve();
        Assert.Equal(1, log.Progress.ShippedRecords);
    }

    [Fact]
    public void a_turn_sends_at_most_its_share_and_asks_for_another_turn()
    {
        using var bed = new ForwardingBed(recordsPerTurn: 3);
        bed.Append(1, "a", "b", "c", "d", "e");
        var log = bed.NewLog();

        Assert.Equal(Turn.Again, log.Serve());
        Assert.Equal(3, bed.Sender.All.Count);
        log.Serve();
        Assert.Equal(5, bed.Sender.All.Count);
    }

    [Fact]
    public void the_silo_budget_stops_sending_and_budget_coming_back_wakes_the_log()
    {
        using var bed = new ForwardingBed(maxInFlightRecords: 2);
        bed.Append(1, "a", "b", "c");
        var log = bed.NewLog();

        log.Serve();
        Assert.Equal(["a", "b"], bed.Sender.Values);
        var wakesBefore = bed.Wakes;
        bed.Sender.Deliver(0, 1);
        bed.Clock.Advance(TimeSpan.FromSeconds(1));
        log.Serve(); // reaps and persists: the records come back to the budget
        Assert.True(bed.Wakes > wakesBefore, "budget coming back should wake the log that waited for it");
        log.Serve();
        Assert.Equal(["a", "b", "c"], bed.Sender.Values);
    }

    [Fact]
    public void a_full_producer_queue_sends_nothing_more_and_asks_to_be_woken_soon()
    {
        _bed.Append(1, "a", "b");
        var log = _bed.NewLog();
        _bed.Sender.QueueFull = true;

        var turn = log.Serve();

        Assert.Empty(_bed.Sender.All);
        Assert.Equal(TimeSpan.FromMilliseconds(50), turn.Wait);
        Assert.Equal(0, _bed.Budget.Records);
        _bed.Sender.QueueFull = false;
        log.Serve();
        Assert.Equal(["a", "b"], _bed.Sender.Values);
    }

    [Fact]
    public void a_corrupt_tail_of_a_sealed_segment_is_quarantined_and_the_segment_still_retires_after_its_good_records()
    {
        _bed.Append(1, "a", "b");
        var (sequence, length) = _bed.Seal();
        var path = Path.Combine(_bed.Directory, SegmentFile.FileName(sequence, SegmentFile.SealedExtension));
        File.AppendAllText(path, "not a frame at all, but long enough to look like one");
        var log = _bed.NewLog();

        log.Serve();
        _bed.Sender.DeliverAll();
        log.Serve();

        Assert.Equal(["a", "b"], _bed.Sender.Values);
        Assert.Equal(["000000000001.seg"], _bed.Retired);
        Assert.True(File.Exists($"{path}{SegmentFile.QuarantineMarker}{length}"), "the bytes after the last good frame are kept for an operator");
    }

    [Fact]
    public void a_restarted_log_resumes_from_the_checkpoint_and_retires_what_a_crash_left_below_it()
    {
        _bed.Append(1, "a");
        _bed.Seal();
        _bed.Append(2, "b", "c");
        new Checkpoint(2, SegmentFile.HeaderSize + Ingest.Records.RecordFrame.SizeOf(0, 1)).Save(_bed.Directory, fsync: false); // a and b were shipped

        var log = _bed.NewLog();
        log.Serve();

        Assert.Equal(["000000000001.seg"], _bed.Retired);
        Assert.Equal(["c"], _bed.Sender.Values);
    }

    [Fact]
    public void a_replay_sends_only_records_inside_its_window_and_finishes_when_no_link_is_left()
    {
        _bed.Append(1, "early");
        _bed.Clock.Advance(TimeSpan.FromMinutes(10));
        var from = _bed.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        _bed.Append(1, "inside");
        _bed.Clock.Advance(TimeSpan.FromMinutes(10));
        _bed.Append(1, "late");
        _bed.Seal();
        var finished = 0;
        var log = _bed.NewLog(new ShipWindow(from, from + 60_000), () => finished++);

        log.Serve();
        Assert.Equal(["inside"], _bed.Sender.Values);
        Assert.Equal(0, finished);
        _bed.Sender.DeliverAll();

        Assert.Equal(Turn.Finished, log.Serve());
        Assert.Equal(1, finished);
        Assert.Equal(["000000000001.seg"], _bed.Retired);
    }

    [Fact]
    public void a_log_that_shipped_everything_holds_no_read_handle_once_its_segment_is_retired()
    {
        _bed.Append(1, "a");
        _bed.Seal();
        var log = _bed.NewLog();
        log.Serve();
        Assert.False(log.HasReader); // the sealed segment was read to its end

        _bed.Sender.DeliverAll();
        Assert.Equal(Turn.Idle, log.Serve());
        Assert.False(log.HasReader);
        Assert.Equal(0, _bed.Budget.Bytes);
    }

    [Fact]
    public void the_oldest_unshipped_record_and_the_unshipped_bytes_come_from_what_the_log_knows()
    {
        _bed.Append(1, "a", "b");
        var log = _bed.NewLog();
        log.Serve();

        var status = log.Progress.Status(log, log.KafkaTopic);
        Assert.Equal(_bed.ActiveLength - SegmentFile.HeaderSize, status.UnshippedBytes);
        Assert.Equal(_bed.Clock.GetUtcNow().ToUnixTimeMilliseconds(), status.OldestUnshippedMs);
        Assert.Equal(2, status.InFlight);

        _bed.Sender.DeliverAll();
        log.Serve();
        status = log.Progress.Status(log, log.KafkaTopic);
        Assert.Equal(0, status.UnshippedBytes);
        Assert.Null(status.OldestUnshippedMs);
    }
}
