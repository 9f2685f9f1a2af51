using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Ingest.Forwarding;

namespace Ingest.Tests.Forwarding;

public sealed class AckWindowTests
{
    private readonly InFlightPool _pool = new(100);
    private int _reports;

    private AckWindow NewWindow() => new(_pool, () => Interlocked.Increment(ref _reports));

    private static void Deliver(InFlight entry) => entry.OnDelivered(new DeliveryReport<byte[]?, byte[]> { Error = new Error(ErrorCode.NoError) });

    private static void Fail(InFlight entry) => entry.OnDelivered(new DeliveryReport<byte[]?, byte[]> { Error = new Error(ErrorCode.RequestTimedOut) });

    [Fact]
    public void reaping_takes_only_the_delivered_prefix_however_the_reports_arrive()
    {
        var window = NewWindow();
        var entries = Enumerable.Range(0, 4).Select(i => window.AddRecord(1, 100 + i, 10, i, generation: 0)).ToList();

        Deliver(entries[3]);
        Deliver(entries[1]);
        Assert.False(window.TryReap(out _));
        Deliver(entries[0]);

        Assert.True(window.TryReap(out var first));
        Assert.True(window.TryReap(out var second));
        Assert.False(window.TryReap(out _)); // entry 2 has no report: 3 waits behind it
        Assert.Equal((100, 101), (first.EndOffset, second.EndOffset));
        Assert.Equal(3, _reports); // each report tells the owner
        Assert.Equal(1, window.Pending);
    }

    [Fact]
    public void a_segment_end_is_reaped_only_after_every_record_before_it()
    {
        var window = NewWindow();
        var record = window.AddRecord(1, 100, 10, 0, generation: 0);
        window.AddSegmentEnd(1, 100);

        Assert.False(window.TryReap(out _));
        Deliver(record);
        Assert.True(window.TryReap(out var reaped));
        Assert.False(reaped.SegmentEnd);
        Assert.True(window.TryReap(out var end));
        Assert.True(end.SegmentEnd);
        Assert.Equal(0, window.Count);
    }

    [Fact]
    public void a_failed_report_stops_reaping_there_and_is_counted_with_its_reason()
    {
        var window = NewWindow();
        var first = window.AddRecord(1, 100, 10, 0, generation: 0);
        var second = window.AddRecord(1, 110, 10, 1, generation: 0);

        Fail(first);
        Deliver(second);

        Assert.False(window.TryReap(out _));
        Assert.Equal(1, window.Failed);
        Assert.Equal(0, window.Pending);
        Assert.NotNull(window.LastError);
        Assert.Equal((2, 20L), window.Drop());
        Assert.Equal(0, window.Failed);
    }

    [Fact]
    public void after_a_drop_late_reports_of_the_old_epoch_do_not_count_in_the_new_one()
    {
        var window = NewWindow();
        var old = window.AddRecord(1, 100, 10, 0, generation: 0);
        window.Drop(); // a replaced producer that never reported
        var fresh = window.AddRecord(1, 100, 10, 0, generation: 1);

        Deliver(old);

        Assert.Equal(1, window.Pending);
        Assert.False(window.TryReap(out _));
        Deliver(fresh);
        Assert.True(window.TryReap(out _));
    }

    [Fact]
    public void records_for_a_new_producer_cannot_join_records_of_the_old_one_still_waiting_for_reports()
    {
        var window = NewWindow();
        var old = window.AddRecord(1, 100, 10, 0, generation: 0);

        Assert.False(window.Accepts(1));
        Assert.Throws<InvalidOperationException>(() => window.AddRecord(1, 110, 10, 0, generation: 1));
        Deliver(old);
        Assert.True(window.Accepts(1));
    }

    [Fact]
    public void a_skipped_record_is_complete_at_once_and_a_refused_send_can_be_taken_back()
    {
        var window = NewWindow();
        window.AddSkipped(1, 100, 10);
        window.AddRecord(1, 110, 10, 0, generation: 0);
        window.Unsend();

        Assert.Equal(0, window.Pending);
        Assert.True(window.TryReap(out var skipped));
        Assert.True(skipped.Skipped);
        Assert.Equal(0, window.Count);
    }
}
