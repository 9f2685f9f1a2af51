using Ingest.Forwarding;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Forwarding;

/// <summary>The scheduler with real workers and clock over real topic logs whose Kafka is a fake.</summary>
public sealed class ForwardingSchedulerTests : IAsyncDisposable
{
    private readonly ForwardingBed _bed = new();
    private readonly ForwardingScheduler _scheduler;

    public ForwardingSchedulerTests()
    {
        var context = new ShippingContext(_bed.Sender, _bed.Budget, new InFlightPool(100),
            _bed.Context.Settings, _bed.Instruments, NullLogger.Instance, TimeProvider.System);
        _scheduler = new ForwardingScheduler(context);
        _scheduler.Start();
        Context = context;
    }

    private ShippingContext Context { get; }

    public async ValueTask DisposeAsync()
    {
        await _scheduler.DisposeAsync();
        _bed.Dispose();
    }

    [Fact]
    public async Task an_appended_record_is_sent_at_once_and_its_report_gives_the_log_the_turn_that_takes_it_in()
    {
        var log = NewLog();
        _bed.Append(1, "a");
        log.Segments.Appended(1, _bed.ActiveLength);

        _scheduler.Signal(log);
        await Poll.Until(() => _bed.Sender.All.Count == 1, TimeSpan.FromSeconds(10), "the record to be sent");
        _bed.Sender.DeliverAll();

        await Poll.Until(() => log.Progress.ShippedRecords == 1, TimeSpan.FromSeconds(10), "the report to be taken in by a turn of its own");
    }

    [Fact]
    public async Task a_failed_report_is_resent_after_the_back_off_deadline_without_any_other_signal()
    {
        var log = NewLog();
        _bed.Append(1, "a");
        _scheduler.Signal(log);
        await Poll.Until(() => _bed.Sender.All.Count == 1, TimeSpan.FromSeconds(10), "the record to be sent");

        _bed.Sender.Fail(0);

        await Poll.Until(() => _bed.Sender.All.Count == 2, TimeSpan.FromSeconds(10), "the record to be resent once its 100 ms back-off passed");
    }

    [Fact]
    public async Task a_log_with_a_big_backlog_takes_turns_with_another_log_instead_of_keeping_it_waiting()
    {
        using var bed = new ForwardingBed(maxInFlightRecords: 100_000, maxInFlightBytes: 64 << 20, recordsPerTurn: 100);
        var context = new ShippingContext(bed.Sender, bed.Budget, new InFlightPool(100), bed.Context.Settings, bed.Instruments, NullLogger.Instance, TimeProvider.System);
        await using var scheduler = new ForwardingScheduler(context, workers: 1);
        bed.Append(1, [.. Enumerable.Range(0, 5000).Select(i => $"backlog-{i}")]);
        var big = bed.NewLog();
        var freshDirectory = Path.Combine(Path.GetDirectoryName(bed.Directory)!, "fresh");
        Directory.CreateDirectory(freshDirectory);
        File.Copy(Directory.GetFiles(bed.Directory).Single(), Path.Combine(freshDirectory, "000000000001.active"));
        var fresh = new TopicLog("fresh", freshDirectory, () => "fresh", _ => true, context, new TopicProgress("fresh", null, false, bed.Instruments));
        scheduler.Add(big);
        scheduler.Add(fresh);

        scheduler.Signal(big);
        scheduler.Signal(fresh);
        scheduler.Start();
        await Poll.Until(() => bed.Sender.All.Count(s => s.Topic == "fresh") >= 100, TimeSpan.FromSeconds(30), "the other topic's first turn");

        // One worker, turns of 100 records: the other topic's turn comes right after the big one's first.
        Assert.Equal(100, bed.Sender.All.TakeWhile(s => s.Topic != "fresh").Count());
    }

    [Fact]
    public async Task a_log_never_has_two_turns_at_once_however_many_signals_it_gets()
    {
        var concurrent = 0;
        var maximum = 0;
        var turns = 0;
        var probe = new TurnProbe(() =>
        {
            var now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref maximum, now);
            Thread.SpinWait(2000);
            Interlocked.Decrement(ref concurrent);
            Interlocked.Increment(ref turns);
        });
        var probeLog = probe.Attach(_bed, Context);
        _scheduler.Add(probeLog);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                _scheduler.Signal(probeLog);
            }
        })));
        await Poll.Until(() => Volatile.Read(ref probeLog.ScheduleState) == 0, TimeSpan.FromSeconds(10), "the signals to be served");

        Assert.Equal(1, maximum);
        Assert.InRange(turns, 1, 20_000);
    }

    private TopicLog NewLog()
    {
        var log = new TopicLog("orders", _bed.Directory, () => "orders", _ => true, Context, new TopicProgress("orders", null, false, _bed.Instruments));
        _scheduler.Add(log);
        return log;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    /// <summary>A topic log whose Kafka topic lookup (made once per turn) runs a probe: a way to watch turns from outside.</summary>
    private sealed class TurnProbe(Action onTurn)
    {
        public TopicLog Attach(ForwardingBed bed, ShippingContext context) =>
            new("probe", Path.Combine(bed.Directory, "..", "probe"), () =>
            {
                onTurn();
                return "probe";
            }, _ => true, context, new TopicProgress("probe", null, false, bed.Instruments));
    }
}
