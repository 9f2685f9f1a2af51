using System.Text;
using Ingest.Audit;
using Ingest.Forwarding;
using Ingest.Options;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Tests.Forwarding;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Audit;

/// <summary>
/// The audit of one topic directory, with a fake Kafka and a fake clock: what decides that a record is
/// counted once — as accepted, recovered, acknowledged or sent again — whatever is resent or restarted.
/// </summary>
public sealed class TopicAuditTests : IDisposable
{
    private static readonly long Hour10 = AuditClock.HourOf(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds());

    private readonly ForwardingBed _bed = new();

    public void Dispose() => _bed.Dispose();

    [Fact]
    public void a_resent_record_is_acknowledged_once_and_counted_as_sent_again_with_the_offsets_of_its_hour()
    {
        _bed.Append(1, "a", "b", "c", "d");
        var log = _bed.NewLog(audit: true);
        log.Serve();
        _bed.Sender.Deliver(0);
        _bed.Sender.Fail(1);
        _bed.Sender.Deliver(2, 3);
        log.Serve();
        _bed.Clock.Advance(TimeSpan.FromMilliseconds(100));
        log.Serve(); // b, c and d again
        _bed.Sender.Deliver(4, 5, 6);
        log.Serve();
        log.Close();

        var row = Assert.Single(NewBook().For("orders", _bed.Directory).Read(Hour10, Hour10 + 1)).Value;
        Assert.Equal(4, row.Acked);
        Assert.Equal(3, row.SentAgain);
        Assert.Equal([new PartitionRange(0, 0, 6)], row.Ranges!); // a at offset 0, the resent d at 6
    }

    [Fact]
    public void after_a_crash_between_the_audit_and_the_checkpoint_the_records_sent_again_are_not_acknowledged_twice()
    {
        _bed.Append(1, "a", "b", "c");
        var log = _bed.NewLog(audit: true);
        log.Serve();
        _bed.Sender.DeliverAll();
        log.Serve();
        log.Close();
        var afterA = new Checkpoint(1, SegmentFile.HeaderSize + RecordFrame.SizeOf(0, 1));
        afterA.Save(_bed.Directory, fsync: false); // the crash came after the audit's write and before the checkpoint's: only a is covered

        _bed.Sender.Clear();
        var restarted = _bed.NewLog(audit: true); // a new book: reads the audit file as a restart does
        restarted.Serve();
        Assert.Equal(["b", "c"], _bed.Sender.Values);
        _bed.Sender.DeliverAll();
        restarted.Serve();
        restarted.Close();

        var row = Assert.Single(NewBook().For("orders", _bed.Directory).Read(Hour10, Hour10 + 1)).Value;
        Assert.Equal(3, row.Acked);
        Assert.Equal(2, row.SentAgain);
    }

    [Fact]
    public void every_record_is_sent_with_an_id_naming_node_shard_segment_and_end_and_a_copy_carries_the_same_id()
    {
        _bed.Append(1, "a", "b");
        var log = _bed.NewLog(audit: true);
        log.Serve();
        _bed.Sender.Fail(0);
        _bed.Sender.Deliver(1);
        log.Serve();
        _bed.Clock.Advance(TimeSpan.FromMilliseconds(100));
        log.Serve();

        var endOfA = SegmentFile.HeaderSize + RecordFrame.SizeOf(0, 1);
        var ids = _bed.Sender.All.Select(s => s.Id).ToArray();
        Assert.Equal([$"0123456789abcdef-0-1-{endOfA}", $"0123456789abcdef-0-1-{2 * endOfA - SegmentFile.HeaderSize}"], ids[..2]);
        Assert.Equal(ids[..2], ids[2..]);
    }

    [Fact]
    public void a_commit_counts_each_record_in_the_hour_of_its_ingest_time_and_only_once()
    {
        using var directory = new TempDirectory("ingest-audit");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 10, 59, 59, TimeSpan.Zero));
        var audit = NewBook(clock).For("orders", directory.Path);
        var frames = Frames(clock, "a", "b");
        clock.Advance(TimeSpan.FromSeconds(2)); // 11:00:01
        var later = Frames(clock, "c");

        audit.Accepted([frames, later], segment: 1, end: 100);
        audit.Accepted([later], segment: 1, end: 100); // the same position again: not counted

        var rows = audit.Read(Hour10, Hour10 + 2);
        Assert.Equal(2, rows[Hour10].Accepted);
        Assert.Equal(1, rows[Hour10 + 1].Accepted);
    }

    [Fact]
    public void records_written_after_the_last_audit_write_are_counted_as_recovered_at_the_next_start_and_nothing_before_them_twice()
    {
        _bed.Append(1, "a", "b");
        var (sequence, _) = _bed.Seal();
        var audit = NewBook().For("orders", _bed.Directory);
        var endOfA = SegmentFile.HeaderSize + RecordFrame.SizeOf(0, 1);
        audit.Accepted([Frames(_bed.Clock, "a")], sequence, endOfA); // a was answered; b was written, then the process died
        audit.Persist();
        _bed.Append(2, "c");
        _bed.Seal();

        var book = NewBook(); // the restart
        var recovered = book.Reconcile("orders", _bed.Directory);

        Assert.Equal(2, recovered); // b and c
        var row = Assert.Single(book.For("orders", _bed.Directory).Read(Hour10, Hour10 + 1)).Value;
        Assert.Equal((1, 2, 3), (row.Accepted, row.Recovered, row.Stored));
        Assert.Equal(0, NewBook().Reconcile("orders", _bed.Directory)); // written: a third start finds nothing new
    }

    [Fact]
    public void a_write_of_the_audit_cut_short_is_ignored_and_the_state_of_the_write_before_is_read_positions_included()
    {
        var audit = NewBook().For("orders", _bed.Directory);
        audit.Delivered(1, 100, _bed.Clock.GetUtcNow().ToUnixTimeMilliseconds(), 0, 7);
        audit.Persist(); // the journal's first line
        audit.Delivered(1, 200, _bed.Clock.GetUtcNow().ToUnixTimeMilliseconds(), 0, 8);
        audit.Persist(); // its second
        var journal = Path.Combine(_bed.Directory, AuditFile.FileName);
        File.WriteAllBytes(journal, File.ReadAllBytes(journal)[..^10]); // the second write cut short

        var state = new AuditFile(_bed.Directory).Load();
        Assert.Equal(new Checkpoint(1, 100), state.AckedThrough);
        Assert.Equal(1, state.Hours[Hour10].Acked);
    }

    [Fact]
    public void hours_older_than_the_archive_retention_and_a_day_are_not_reported_and_the_journal_compacts_them_away()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
        var book = new AuditBook(Microsoft.Extensions.Options.Options.Create(new IngestOptions { RetentionDays = 1 }), clock);
        var audit = book.For("orders", _bed.Directory);
        audit.Delivered(1, 100, clock.GetUtcNow().ToUnixTimeMilliseconds(), 0, 1);
        audit.Persist();
        clock.Advance(TimeSpan.FromDays(2) + TimeSpan.FromHours(1));
        long end = 200;
        var path = Path.Combine(_bed.Directory, AuditFile.FileName);
        while (new FileInfo(path).Length <= AuditFile.CompactAt)
        {
            audit.Delivered(1, end += 100, clock.GetUtcNow().ToUnixTimeMilliseconds(), 0, end);
            audit.Persist(); // one line appended per write
        }

        Assert.Equal([Hour10 + 49], audit.Read(0, long.MaxValue).Keys);
        audit.Delivered(1, end += 100, clock.GetUtcNow().ToUnixTimeMilliseconds(), 0, end);
        audit.Persist(); // past the limit: compacted into one line, without the old hour

        Assert.Single(File.ReadAllLines(path));
        var state = new AuditFile(_bed.Directory).Load();
        Assert.Equal([Hour10 + 49], state.Hours.Keys);
        Assert.Equal(new Checkpoint(1, end), state.AckedThrough);
        Assert.Equal((end - 200) / 100, state.Hours[Hour10 + 49].Acked); // every write's count survived the compaction
    }

    [Fact]
    public async Task a_commit_counted_while_the_audit_is_being_written_does_not_wait_for_the_write_and_goes_into_the_next()
    {
        var clock = new StallingClock(_bed.Clock);
        var audit = NewBook(clock).For("orders", _bed.Directory);
        audit.Accepted([Frames(_bed.Clock, "a")], 1, 100);
        clock.StallNextRead();
        var writing = Started(audit.Persist); // takes what changed, then stalls before the file

        await clock.Stalled.WaitAsync(TimeSpan.FromSeconds(30));
        var counting = Started(() => audit.Accepted([Frames(_bed.Clock, "b")], 1, 200));
        Assert.True(counting.Join(TimeSpan.FromSeconds(30)), "expected b to be counted while the write is stalled (it waited for the write)");
        Assert.True(writing.IsAlive, "the write is still stalled while b is counted");
        clock.Release();
        Assert.True(writing.Join(TimeSpan.FromSeconds(30)), "expected the write to finish once released");

        var first = new AuditFile(_bed.Directory).Load();
        Assert.Equal((new Checkpoint(1, 100), 1L), (first.StoredThrough, first.Hours[Hour10].Accepted)); // a only: b came after the write took its counts
        audit.Persist();
        var second = new AuditFile(_bed.Directory).Load();
        Assert.Equal((new Checkpoint(1, 200), 2L), (second.StoredThrough, second.Hours[Hour10].Accepted));
    }

    [Fact]
    public void a_write_of_the_audit_that_fails_keeps_its_counts_and_the_next_write_holds_them()
    {
        var audit = NewBook().For("orders", _bed.Directory);
        audit.Accepted([Frames(_bed.Clock, "a", "b")], 1, 100);
        var journal = Path.Combine(_bed.Directory, AuditFile.FileName);
        Directory.CreateDirectory(journal); // the journal's path cannot be opened as a file

        var failure = Record.Exception(audit.Persist);
        Assert.True(failure is IOException or UnauthorizedAccessException, $"expected the write to fail, got {failure?.GetType().Name ?? "no exception"}");
        Directory.Delete(journal);
        Assert.Equal(2, audit.Read(Hour10, Hour10 + 1)[Hour10].Accepted); // still counted, in memory
        audit.Accepted([Frames(_bed.Clock, "c")], 1, 150);
        audit.Persist();

        var state = new AuditFile(_bed.Directory).Load();
        Assert.Equal((new Checkpoint(1, 150), 3L), (state.StoredThrough, state.Hours[Hour10].Accepted));
    }

    [Fact]
    public async Task a_write_queued_by_a_commit_that_fails_is_logged_tried_again_an_interval_later_and_loses_no_count()
    {
        var logs = new RecordedLogs();
        var audit = new AuditBook(Microsoft.Extensions.Options.Options.Create(new IngestOptions()), _bed.Clock, logs).For("orders", _bed.Directory);
        audit.Accepted([Frames(_bed.Clock, "a")], 1, 100);
        var journal = Path.Combine(_bed.Directory, AuditFile.FileName);
        Directory.CreateDirectory(journal); // the journal's path cannot be opened as a file
        _bed.Clock.Advance(TopicAudit.PersistInterval);

        audit.WriteSoonIfDue();
        await Poll.Until(() => logs.Has(IngestEventCode.AuditWriteFailed), TimeSpan.FromSeconds(10), "the failed write of the audit logged (event 1406)");
        Directory.Delete(journal);
        audit.WriteSoonIfDue(); // not due: a failed write is tried again an interval later, not at every commit
        Assert.False(File.Exists(journal), "nothing was queued before the interval passed");
        _bed.Clock.Advance(TopicAudit.PersistInterval);
        audit.WriteSoonIfDue();

        await Poll.Until(() => File.Exists(journal) && new AuditFile(_bed.Directory).Load().StoredThrough == new Checkpoint(1, 100), TimeSpan.FromSeconds(10), "the journal written with a's count");
        Assert.Equal(1, new AuditFile(_bed.Directory).Load().Hours[Hour10].Accepted);
    }

    /// <summary>A thread of its own (not the pool's, which parallel tests can keep busy) running <paramref name="work"/>.</summary>
    private static Thread Started(Action work)
    {
        var thread = new Thread(() => work()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    private AuditBook NewBook(TimeProvider? clock = null) =>
        new(Microsoft.Extensions.Options.Options.Create(new IngestOptions()), clock ?? _bed.Clock);

    private static ReadOnlyMemory<byte> Frames(TimeProvider clock, params string[] values)
    {
        var frames = new List<byte>();
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var frame = new byte[RecordFrame.SizeOf(0, bytes.Length)];
            RecordFrame.Write(frame, clock.GetUtcNow().ToUnixTimeMilliseconds(), [], false, bytes);
            frames.AddRange(frame);
        }

        return frames.ToArray();
    }
}

/// <summary>A clock that, once armed, holds the next thread that reads the time until released (a write of the audit stalled on its way to the file).</summary>
internal sealed class StallingClock(TimeProvider inner) : TimeProvider
{
    private readonly SemaphoreSlim _stalled = new(0);
    private readonly ManualResetEventSlim _released = new(true);
    private int _armed;

    public void StallNextRead()
    {
        _released.Reset();
        Volatile.Write(ref _armed, 1);
    }

    public Task Stalled => _stalled.WaitAsync();

    public void Release() => _released.Set();

    public override DateTimeOffset GetUtcNow()
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            _stalled.Release();
            _released.Wait();
        }

        return inner.GetUtcNow();
    }

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;
}

/// <summary>The event ids an audit book logged.</summary>
internal sealed class RecordedLogs : Microsoft.Extensions.Logging.ILogger<AuditBook>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<int> _events = new();

    public bool Has(IngestEventCode code) => _events.Contains((int)code);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _events.Enqueue(eventId.Id);
}
