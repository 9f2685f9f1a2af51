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
    private readonly WriterBed _bed = new();

    [Fact]
    public async Task appends_that_arrive_while_a_commit_waits_for_its_fsync_go_to_disk_together_in_the_next_commit()
    {
        var writer = Build(Durability.Fsync);
        _bed.Disk.HoldFsyncs();
        var first = writer.Append(Batch("a")).AsTask();
        await _bed.Disk.FsyncStarted.WaitAsync(TimeSpan.FromSeconds(10));
        var second = writer.Append(Batch("b")).AsTask();
        var third = writer.Append(Batch("c", "d")).AsTask();

        Assert.False(first.IsCompleted, "the first append waits for its fsync");
        Assert.Equal(1, _bed.Disk.Writes);
        _bed.Disk.ReleaseFsyncs();

        Assert.Equal(AppendStatus.Appended, (await first).Status);
        Assert.Equal(AppendStatus.Appended, (await second).Status);
        Assert.Equal(AppendStatus.Appended, (await third).Status);
        Assert.Equal(2, _bed.Disk.Writes); // a, then b + c + d in one write
        Assert.Equal(2, _bed.Disk.Fsyncs);
        Assert.Equal(["a", "b", "c", "d"], Values(writer.Active!.Path));
    }

    [Fact]
    public async Task a_record_of_a_new_utc_day_opens_a_new_segment_and_never_joins_the_old_one()
    {
        var writer = Build(Durability.Flush);
        await AppendAsync(writer, "before-midnight");
        var yesterday = writer.Active!;
        _bed.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 2, 0, 0, 1, TimeSpan.Zero));

        await AppendAsync(writer, "after-midnight");

        Assert.NotEqual(yesterday.Sequence, writer.Active!.Sequence);
        Assert.Equal(["before-midnight"], Values(SegmentFile.SealedPathOf(yesterday.Path)));
        Assert.Equal(["after-midnight"], Values(writer.Active.Path));
        Assert.Contains((yesterday.Sequence, "sealed"), _bed.Events.Seen);
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
        Assert.Equal([(1L, "appended"), (1L, "sealed")], _bed.Events.Seen);
    }

    [Fact]
    public async Task a_seal_asked_for_during_a_commit_waits_until_the_commit_is_on_disk()
    {
        var writer = Build(Durability.Fsync);
        _bed.Disk.HoldFsyncs();
        var pending = writer.Append(Batch("in-flight")).AsTask();
        await _bed.Disk.FsyncStarted.WaitAsync(TimeSpan.FromSeconds(10));

        writer.RequestSeal(SealReason.Age);

        Assert.NotNull(writer.Active); // not sealed under the fsync
        Assert.Empty(Directory.GetFiles(TopicDirectory, "*" + SegmentFile.SealedExtension));
        _bed.Disk.ReleaseFsyncs();
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
        var used = _bed.Budget.UsedBytes;
        var first = writer.Active!;
        _bed.Disk.FailWrites = true;

        var failed = await writer.Append(Batch("lost"));

        Assert.Equal(AppendStatus.WriteFailed, failed.Status);
        Assert.Equal(used, _bed.Budget.UsedBytes);
        Assert.Null(writer.Active);
        _bed.Disk.FailWrites = false;
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
        Assert.Equal([300L + RecordFrame.SizeOf(0, 0)], _bed.Evictions); // the archive was asked for room first
        Assert.Null(writer.Active);
        Assert.Equal(["first"], Values(Assert.Single(Directory.GetFiles(TopicDirectory, "*" + SegmentFile.SealedExtension))));
    }

    [Fact]
    public async Task frames_that_do_not_parse_are_refused_and_nothing_is_written()
    {
        var writer = Build(Durability.Flush);

        var refused = await writer.Append(new AppendBatch(new byte[] { 1, 2, 3 }, 1));

        Assert.Equal(AppendStatus.InvalidFrames, refused.Status);
        Assert.Equal(0, _bed.Disk.Writes);
        Assert.Null(writer.Active);
    }

    [Fact]
    public async Task time_alone_seals_an_open_segment_only_once_it_is_due()
    {
        var writer = Build(Durability.Flush, rotateAfter: TimeSpan.FromMinutes(10));
        await AppendAsync(writer, "x");

        Assert.Same(writer.Active, writer.SealIfDue()); // not yet: still open, the timer is re-armed for it
        _bed.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(writer.SealIfDue());
        Assert.Null(writer.Active);
    }

    [Fact]
    public async Task while_records_flow_the_first_commit_after_the_audit_interval_has_the_audit_written_without_a_checkpoint()
    {
        var writer = Build(Durability.Fsync);
        var journal = Path.Combine(TopicDirectory, Ingest.Audit.AuditFile.FileName);
        await AppendAsync(writer, "a");
        Assert.False(File.Exists(journal), "not written before the interval has passed");

        _bed.Clock.Advance(Ingest.Audit.TopicAudit.PersistInterval);
        await AppendAsync(writer, "b"); // answered; the audit's write runs after, on its own

        await Poll.Until(() => new Ingest.Audit.AuditFile(TopicDirectory).Load().StoredThrough.Offset > 0, TimeSpan.FromSeconds(10), "the audit journal written after the commit of b");

        var state = new Ingest.Audit.AuditFile(TopicDirectory).Load();
        Assert.Equal(2, state.Hours.Values.Sum(h => h.Accepted));
        Assert.Equal(new Ingest.Segments.Checkpoint(writer.Active!.Sequence, writer.Active.Length), state.StoredThrough);
    }

    [Fact]
    public async Task a_commit_records_how_long_its_write_and_fsync_took_tagged_as_synced()
    {
        var writer = Build(Durability.Fsync);
        var durations = new List<(double Seconds, object? Sync)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "ingest.commit.duration" && ReferenceEquals(instrument.Meter.Scope, _bed.Meters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            lock (durations)
            {
                durations.Add((value, tags.ToArray().Single(t => t.Key == IngestInstruments.SyncTag).Value));
            }
        });
        listener.Start();
        _bed.Disk.HoldFsyncs();

        var append = writer.Append(Batch("a")).AsTask();
        await _bed.Disk.FsyncStarted.WaitAsync(TimeSpan.FromSeconds(10));
        _bed.Clock.Advance(TimeSpan.FromMilliseconds(7)); // the disk takes 7 ms to sync
        _bed.Disk.ReleaseFsyncs();
        Assert.Equal(AppendStatus.Appended, (await append).Status);

        lock (durations)
        {
            Assert.Equal([(0.007, (object?)true)], durations);
        }
    }

    public void Dispose() => _bed.Dispose();

    private string TopicDirectory => Path.Combine(_bed.Store.SegmentsRoot, "orders");

    private TopicWriter Build(Durability durability, long maxSegmentBytes = 1 << 20, long maxDiskBytes = 1L << 30, TimeSpan? rotateAfter = null) =>
        _bed.Build(durability, maxDiskBytes).Open("orders", () => new RotationPolicy(rotateAfter ?? TimeSpan.FromHours(1), maxSegmentBytes), _ => { });

    private static async Task AppendAsync(TopicWriter writer, string value) =>
        Assert.Equal(AppendStatus.Appended, (await writer.Append(Batch(value))).Status);

    internal static AppendBatch Batch(params string[] values)
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

    internal static List<string> Values(string path)
    {
        var values = new List<string>();
        SegmentReader.Scan(path, (in RecordView record, long _) => values.Add(Encoding.UTF8.GetString(record.Value)));
        return values;
    }
}
