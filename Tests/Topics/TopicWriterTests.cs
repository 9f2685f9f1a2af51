using System.Diagnostics.Metrics;
using System.Text;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Options;
using Ingest.Records;
using Ingest.Rotation;
using Ingest.Segments;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Topics;

/// <summary>
/// A topic grain's commit and seal decisions on their own (<see cref="TopicWriter"/>): real segment files in a
/// temporary data directory, a fake clock, a fake disk that can hold an fsync or fail a write, and the
/// forwarder's signals recorded.
/// </summary>
public sealed class TopicWriterTests : IDisposable
{
    private readonly TempDirectory _data = new("ingest-writer-unit");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly HeldDisk _disk = new();
    private readonly RecordedEvents _events = new();
    private readonly List<long> _evictions = [];
    private SegmentStore? _store;
    private DiskBudget? _budget;

    [Fact]
    public async Task appends_that_arrive_while_a_commit_waits_for_its_fsync_go_to_disk_together_in_the_next_commit()
    {
        var writer = Build(Durability.Fsync);
        _disk.HoldFsyncs();
        var first = writer.Append(Batch("a")).AsTask();
        await _disk.FsyncStarted.WaitAsync(TimeSpan.FromSeconds(10));
        var second = writer.Append(Batch("b")).AsTask();
        var third = writer.Append(Batch("c", "d")).AsTask();

        Assert.False(first.IsCompleted, "the first append waits for its fsync");
        Assert.Equal(1, _disk.Writes);
        _disk.ReleaseFsyncs();

        Assert.Equal(AppendStatus.Appended, (await first).Status);
        Assert.Equal(AppendStatus.Appended, (await second).Status);
        Assert.Equal(AppendStatus.Appended, (await third).Status);
        Assert.Equal(2, _disk.Writes); // a, then b + c + d in one write
        Assert.Equal(2, _disk.Fsyncs);
        Assert.Equal(["a", "b", "c", "d"], Values(writer.Active!.Path));
    }

    [Fact]
    public async Task a_record_of_a_new_utc_day_opens_a_new_segment_and_never_joins_the_old_one()
    {
        var writer = Build(Durability.Flush);
        await AppendAsync(writer, "before-midnight");
        var yesterday = writer.Active!;
        _clock.SetUtcNow(new DateTimeOffset(2026, 12, 2, 0, 0, 1, TimeSpan.Zero));

        await AppendAsync(writer, "after-midnight");

        Assert.NotEqual(yesterday.Sequence, writer.Active!.Sequence);
        Assert.Equal(["before-midnight"], Values(SegmentFile.SealedPathOf(yesterday.Path)));
        Assert.Equal(["after-midnight"], Values(writer.Active.Path));
        Assert.Contains((yesterday.Sequence, "sealed"), _events.Seen);
    }

    [Fact]
    public async Task a_segment_that_reaches_max_segment_bytes_is_sealed_after_the_commit_that_filled_it()
    {
        var writer = Build(Durability.Flush, maxSegmentBytes: 4096);
        var big = new string('x', 5000);

        await AppendAsync(writer, big);

        Assert.Null(writer.Active);
        var sealedFile = Assert.Single(Directory.GetFiles(TopicDirectory, "*" + SegmentFile.SealedExtension));
        Assert.Equal([big], Values(sealedFile));
        Assert.Equal([(1L, "appended"), (1L, "sealed")], _events.Seen);
    }

    [Fact]
    public async Task a_seal_asked_for_during_a_commit_waits_until_the_commit_is_on_disk()
    {
        var writer = Build(Durability.Fsync);
        _disk.HoldFsyncs();
        var pending = writer.Append(Batch("in-flight")).AsTask();
        await _disk.FsyncStarted.WaitAsync(TimeSpan.FromSeconds(10));

        writer.RequestSeal(SealReason.Age);

        Assert.NotNull(writer.Active); // not sealed under the fsync
        Assert.Empty(Directory.GetFiles(TopicDirectory, "*" + SegmentFile.SealedExtension));
        _disk.ReleaseFsyncs();
        Assert.Equal(AppendStatus.Appended, (await pending).Status);
        // The seal follows the commit on the writer's own turn (the answer may reach the caller first).
        await Poll.Until(() => !writer.Busy, TimeSpan.FromSeconds(10), "the commit loop to finish and seal");
        Assert.Null(writer.Active);
        Assert.Equal(["in-flight"], Values(Assert.Single(Directory.GetFiles(TopicDirectory, "*" + SegmentFile.SealedExtension))));
    }

    [Fact]
    public async Task a_failed_write_answers_write_failed_gives_its_bytes_back_and_the_next_append_opens_a_new_segment()
    {
        var writer = Build(Durability.Flush);
        await AppendAsync(writer, "kept");
        var used = _budget!.UsedBytes;
        var first = writer.Active!;
        _disk.FailWrites = true;

        var failed = await writer.Append(Batch("lost"));

        Assert.Equal(AppendStatus.WriteFailed, failed.Status);
        Assert.Equal(used, _budget.UsedBytes);
        Assert.Null(writer.Active);
        _disk.FailWrites = false;
        await AppendAsync(writer, "after");
        Assert.Equal(["kept"], Values(SegmentFile.SealedPathOf(first.Path)));
        Assert.Equal(["after"], Values(writer.Active!.Path));
    }

    [Fact]
    public async Task with_the_budget_spent_and_nothing_to_evict_an_append_is_refused_as_disk_full_and_what_is_written_is_sealed()
    {
        var writer = Build(Durability.Flush, maxDiskBytes: 200);
        await AppendAsync(writer, "first");

        var refused = await writer.Append(Batch(new string('y', 300)));

        Assert.Equal(AppendStatus.DiskFull, refused.Status);
        Assert.Equal([300L + RecordFrame.SizeOf(0, 0)], _evictions); // the archive was asked for room first
        Assert.Null(writer.Active);
        Assert.Equal(["first"], Values(Assert.Single(Directory.GetFiles(TopicDirectory, "*" + SegmentFile.SealedExtension))));
    }

    [Fact]
    public async Task frames_that_do_not_parse_are_refused_and_nothing_is_written()
    {
        var writer = Build(Durability.Flush);

        var refused = await writer.Append(new AppendBatch(new byte[] { 1, 2, 3 }, 1));

        Assert.Equal(AppendStatus.InvalidFrames, refused.Status);
        Assert.Equal(0, _disk.Writes);
        Assert.Null(writer.Active);
    }

    [Fact]
    public async Task time_alone_seals_an_open_segment_only_once_it_is_due()
    {
        var writer = Build(Durability.Flush, rotateAfter: TimeSpan.FromMinutes(10));
        await AppendAsync(writer, "x");

        Assert.Same(writer.Active, writer.SealIfDue()); // not yet: still open, the timer is re-armed for it
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(writer.SealIfDue());
        Assert.Null(writer.Active);
    }

    public void Dispose()
    {
        _store?.Dispose();
        _data.Dispose();
    }

    private string TopicDirectory => Path.Combine(_store!.SegmentsRoot, "orders");

    private TopicWriter Build(Durability durability, long maxSegmentBytes = 1 << 20, long maxDiskBytes = 1L << 30, TimeSpan? rotateAfter = null)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new IngestOptions { DataDirectory = _data.Path, Durability = durability, MaxDiskBytes = maxDiskBytes, MinFreeDiskBytes = 0 });
        _budget = new DiskBudget(options, _clock);
        var instruments = UnitInstruments.For(_budget);
        _store = new SegmentStore(options, _budget, NullLogger<SegmentStore>.Instance, instruments);
        _store.Open();
        var room = new DiskRoom(_budget, bytes =>
        {
            _evictions.Add(bytes);
            return 0;
        });
        var writers = new TopicWriters(_store, room, instruments, _events, new AppendCounts(), _clock, [_disk], NullLogger<TopicWriter>.Instance);
        var policy = new RotationPolicy(rotateAfter ?? TimeSpan.FromHours(1), maxSegmentBytes);
        return writers.Open("orders", () => policy, _ => { });
    }

    private static async Task AppendAsync(TopicWriter writer, string value) =>
        Assert.Equal(AppendStatus.Appended, (await writer.Append(Batch(value))).Status);

    private static AppendBatch Batch(params string[] values)
    {
        var frames = new List<byte>();
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var frame = new byte[RecordFrame.SizeOf(0, bytes.Length)];
            RecordFrame.Write(frame, 1_764_583_200_000, [], false, bytes);
            frames.AddRange(frame);
        }

        return new AppendBatch(frames.ToArray(), values.Length);
    }

    private static List<string> Values(string path)
    {
        var values = new List<string>();
        SegmentReader.Scan(path, (in RecordView record, long _) => values.Add(Encoding.UTF8.GetString(record.Value)));
        return values;
    }

    /// <summary>A disk that counts writes and fsyncs, can hold fsyncs until released, and can fail writes.</summary>
    private sealed class HeldDisk : IFileFaults
    {
        private readonly ManualResetEventSlim _fsyncsMayGo = new(true);
        private readonly SemaphoreSlim _fsyncStarted = new(0);
        private int _writes;
        private int _fsyncs;

        public volatile bool FailWrites;

        public int Writes => Volatile.Read(ref _writes);

        public int Fsyncs => Volatile.Read(ref _fsyncs);

        /// <summary>Completes when an fsync has started (and is held).</summary>
        public Task FsyncStarted => _fsyncStarted.WaitAsync();

        public void HoldFsyncs() => _fsyncsMayGo.Reset();

        public void ReleaseFsyncs() => _fsyncsMayGo.Set();

        public void BeforeWrite(string path, long bytes)
        {
            if (FailWrites)
            {
                throw new IOException("Input/output error (injected)");
            }

            Interlocked.Increment(ref _writes);
        }

        public void BeforeFsync(string path)
        {
            Interlocked.Increment(ref _fsyncs);
            _fsyncStarted.Release();
            if (!_fsyncsMayGo.Wait(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException("the test never released the held fsync");
            }
        }
    }

    private sealed class RecordedEvents : ISegmentEvents
    {
        public List<(long Sequence, string What)> Seen { get; } = [];

        public void Appended(string topic, long sequence, long length) => Seen.Add((sequence, "appended"));

        public void Sealed(string topic, long sequence, long length) => Seen.Add((sequence, "sealed"));

        public void Changed(string topic) => Seen.Add((0, "changed"));
    }
}
