using Ingest.Forwarding;
using Ingest.Hosting;
using Ingest.Options;
using Ingest.Rotation;
using Ingest.Segments;
using Ingest.Tests.Topics;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Membership;

/// <summary>
/// A silo the cluster removed leaves cleanly (<see cref="SiloRemoval"/>, <see cref="TopicWriters.CloseAll"/>): real
/// topic writers on a temporary disk, a fake forwarder whose backlog the test sets, and the exit recorded instead of taken.
/// </summary>
public sealed class SiloRemovalTests : IDisposable
{
    private static readonly RotationPolicy Hourly = new(TimeSpan.FromHours(1), 1 << 20);

    private readonly WriterBed _bed = new();
    private readonly FakeShipping _shipping = new();
    private readonly RecordedExit _exit = new();

    [Fact]
    public async Task a_commit_in_flight_when_the_silo_leaves_completes_and_is_answered_and_what_waited_behind_it_gets_503_unwritten()
    {
        var writers = _bed.Build(Durability.Fsync);
        var writer = writers.Open("orders", () => Hourly, _ => { });
        _bed.Disk.HoldFsyncs();
        var inFlight = writer.Append(TopicWriterTests.Batch("a")).AsTask();
        await _bed.Disk.FsyncStarted.WaitAsync(TimeSpan.FromSeconds(10));
        var waiting = writer.Append(TopicWriterTests.Batch("b")).AsTask();
        var usedBeforeClose = _bed.Budget.UsedBytes;

        writers.CloseAll("leaving for the test");
        Assert.Equal(1, writers.OpenSegments); // sealed right after the commit that is writing, not under it
        _bed.Disk.ReleaseFsyncs();

        Assert.Equal(AppendStatus.Appended, (await inFlight).Status);
        var refused = await waiting;
        Assert.Equal(AppendStatus.Unavailable, refused.Status);
        Assert.Equal("leaving for the test", refused.Detail);
        Assert.Equal(0, writers.OpenSegments);
        var sealedSegment = Assert.Single(SegmentFiles("orders"));
        Assert.EndsWith(SegmentFile.SealedExtension, sealedSegment, StringComparison.Ordinal);
        Assert.Equal(["a"], TopicWriterTests.Values(sealedSegment));
        Assert.True(_bed.Budget.UsedBytes < usedBeforeClose, "the refused append's room on disk was given back");
    }

    [Fact]
    public async Task once_the_silo_leaves_no_topic_takes_an_append_and_the_store_says_why()
    {
        var writers = _bed.Build(Durability.Flush);
        var orders = writers.Open("orders", () => Hourly, _ => { });
        Assert.Equal(AppendStatus.Appended, (await orders.Append(TopicWriterTests.Batch("before"))).Status);
        var writes = _bed.Disk.Writes;

        writers.CloseAll("leaving for the test");

        Assert.Null(orders.Active);
        Assert.Equal(AppendStatus.Unavailable, (await orders.Append(TopicWriterTests.Batch("after"))).Status);
        var other = writers.Open("payments", () => Hourly, _ => { });
        Assert.Equal(AppendStatus.Unavailable, (await other.Append(TopicWriterTests.Batch("after"))).Status);
        Assert.Equal(writes, _bed.Disk.Writes);
        Assert.Empty(SegmentFiles("payments"));
        Assert.Equal(["before"], TopicWriterTests.Values(Assert.Single(SegmentFiles("orders"))));
        Assert.False(_bed.Store.IsWritable(out var reason), "the store reports itself closed (so /readyz answers 503)");
        Assert.Equal("leaving for the test", reason);
    }

    [Fact]
    public async Task a_silo_declared_dead_seals_its_segments_ships_its_backlog_stops_the_forwarder_and_exits_with_code_5()
    {
        var writers = _bed.Build(Durability.Flush);
        var writer = writers.Open("orders", () => Hourly, _ => { });
        Assert.Equal(AppendStatus.Appended, (await writer.Append(TopicWriterTests.Batch("stored"))).Status);
        _shipping.Left = [(3, 300), (1, 100), (0, 0)];

        Removal(writers, TimeSpan.FromSeconds(30)).OnFatalException(this, "I have been told I am dead (test)");

        Assert.Equal([ExitCodes.RemovedFromCluster], _exit.Codes);
        Assert.Equal(0, writers.OpenSegments);
        Assert.EndsWith(SegmentFile.SealedExtension, Assert.Single(SegmentFiles("orders")), StringComparison.Ordinal);
        Assert.Empty(_shipping.Left); // it waited until the backlog was 0
        Assert.NotNull(_shipping.StoppedWithGrace); // and then stopped the forwarder: checkpoints persisted
    }

    [Fact]
    public async Task with_kafka_out_of_reach_it_exits_at_the_leave_timeout_leaving_the_backlog_sealed_on_disk()
    {
        var writers = _bed.Build(Durability.Flush);
        var writer = writers.Open("orders", () => Hourly, _ => { });
        Assert.Equal(AppendStatus.Appended, (await writer.Append(TopicWriterTests.Batch("stored"))).Status);
        _shipping.Stuck = (1, 100);
        var started = System.Diagnostics.Stopwatch.StartNew();

        Removal(writers, TimeSpan.FromMilliseconds(500)).OnFatalException(this, "membership loop failed (test)", new InvalidOperationException("test"));

        Assert.Equal([ExitCodes.RemovedFromCluster], _exit.Codes);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(500), $"it tried to ship for the whole leave timeout (left after {started.Elapsed})");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"and no longer (left after {started.Elapsed})");
        Assert.True(_shipping.BacklogReads > 1, "it kept checking the backlog");
        Assert.NotNull(_shipping.StoppedWithGrace);
        Assert.EndsWith(SegmentFile.SealedExtension, Assert.Single(SegmentFiles("orders")), StringComparison.Ordinal);
    }

    [Fact]
    public void orleans_calling_again_while_the_silo_leaves_does_not_start_a_second_exit()
    {
        var writers = _bed.Build(Durability.Flush);
        var removal = Removal(writers, TimeSpan.FromSeconds(5));

        removal.OnFatalException(this, "told dead (test)");
        removal.OnFatalException(this, "told dead again (test)");

        Assert.Equal([ExitCodes.RemovedFromCluster], _exit.Codes);
        Assert.Equal(1, _shipping.Stops);
    }

    [Fact]
    public void without_forwarding_to_kafka_it_seals_and_exits_without_waiting_for_a_backlog()
    {
        var writers = _bed.Build(Durability.Flush);
        _shipping.Running = false;

        Removal(writers, TimeSpan.FromSeconds(30)).OnFatalException(this, "told dead (test)");

        Assert.Equal([ExitCodes.RemovedFromCluster], _exit.Codes);
        Assert.Equal(0, _shipping.BacklogReads);
        Assert.Equal(0, _shipping.Stops);
    }

    public void Dispose() => _bed.Dispose();

    private SiloRemoval Removal(TopicWriters writers, TimeSpan leaveTimeout) =>
        new(writers, _shipping, _exit,
            Microsoft.Extensions.Options.Options.Create(new SiloRemovalOptions { LeaveTimeout = leaveTimeout, CheckPeriod = TimeSpan.FromMilliseconds(10) }),
            TimeProvider.System, NullLogger<SiloRemoval>.Instance);

    private string[] SegmentFiles(string topic)
    {
        var directory = Path.Combine(_bed.Store.SegmentsRoot, topic);
        return Directory.Exists(directory) ? Directory.GetFiles(directory).Where(f => f.EndsWith(SegmentFile.SealedExtension, StringComparison.Ordinal) || f.EndsWith(SegmentFile.ActiveExtension, StringComparison.Ordinal)).ToArray() : [];
    }

    private sealed class FakeShipping : IShippingBacklog
    {
        /// <summary>The backlog at each read, in turn; the last one stays.</summary>
        public List<(long Records, long Bytes)> Left { get; set; } = [];

        public (long Records, long Bytes)? Stuck { get; set; }

        public bool Running { get; set; } = true;

        public int BacklogReads { get; private set; }

        public int Stops { get; private set; }

        public TimeSpan? StoppedWithGrace { get; private set; }

        public bool IsRunning => Running;

        public (long Records, long Bytes) Backlog()
        {
            BacklogReads++;
            if (Stuck is { } stuck)
            {
                return stuck;
            }

            if (Left.Count == 0)
            {
                return (0, 0);
            }

            var next = Left[0];
            Left.RemoveAt(0);
            return next;
        }

        public Task StopAsync(TimeSpan grace)
        {
            Stops++;
            StoppedWithGrace = grace;
            return Task.CompletedTask;
        }
    }

    private sealed class RecordedExit : IProcessExit
    {
        public List<int> Codes { get; } = [];

        public void Exit(int code) => Codes.Add(code);
    }
}
