using System.Text;
using Ingest.Forwarding;
using Ingest.Options;
using Ingest.Records;
using Ingest.Rotation;
using Ingest.Tests.Infrastructure;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Topics;

/// <summary>
/// The topic grain's idempotency decisions on their own (<see cref="RequestAppender"/>, <see cref="RememberedKeys"/>):
/// real topic writers on a temporary disk and a fake clock; a "restart" is a new window over the same directory.
/// </summary>
public sealed class RequestAppenderTests : IDisposable
{
    private static readonly RotationPolicy Hourly = new(TimeSpan.FromHours(1), 1 << 20);

    private readonly WriterBed _bed = new();
    private readonly FakeAcks _acks = new();

    [Fact]
    public async Task a_repeat_inside_one_batch_is_left_out_of_the_write_and_answered_with_the_first_one_of_the_batch()
    {
        var (appender, _) = Build();
        var writer = Writer();
        var batch = Batch(("scope-a", "first"), (null, "unkeyed"), ("scope-a", "repeat"), ("scope-b", "other"));

        var result = await appender.AppendAsync("orders", writer, batch);

        Assert.Equal(AppendStatus.Appended, result.Status);
        Assert.Equal([false, true, false], result.Answers!.Select(a => a.Replayed)); // scope-a, its repeat, scope-b
        Assert.Equal(["first", "unkeyed", "other"], TopicWriterTests.Values(writer.Active!.Path));
    }

    [Fact]
    public async Task a_key_whose_first_request_failed_is_forgotten_so_the_retry_stores()
    {
        var (appender, window) = Build();
        var writer = Writer();
        _bed.Disk.FailWrites = true;

        var failed = await appender.AppendAsync("orders", writer, Batch(("scope-a", "try-1")));
        _bed.Disk.FailWrites = false;
        var retried = await appender.AppendAsync("orders", writer, Batch(("scope-a", "try-2")));

        Assert.Equal(AppendStatus.WriteFailed, failed.Answers![0].Status);
        Assert.Equal(AppendStatus.Appended, retried.Answers![0].Status);
        Assert.False(retried.Answers[0].Replayed);
        Assert.Equal(1, window.Count);
    }

    [Fact]
    public async Task after_a_restart_the_keys_of_the_window_are_read_back_from_the_segments_and_a_retry_stores_nothing()
    {
        var (before, _) = Build();
        Assert.Equal(AppendStatus.Appended, (await before.AppendAsync("orders", Writer(), Batch(("producer\nkey-1", "a"), ("producer\nkey-1-batch", "b"), ("producer\nkey-1-batch", "c")))).Status);

        // A new process: a fresh window over the same data directory.
        var (after, window) = Build();
        var writer = Writer();
        after.RecoverOnce("orders", writer.Directory);
        var retry = await after.AppendAsync("orders", writer, Batch(("producer\nkey-1", "a-again")));

        Assert.Equal(2, window.Count); // key-1, and the batch's key (its repeat inside the batch was never stored)
        Assert.True(retry.Answers![0].Replayed);
        Assert.Null(writer.Active); // nothing was written: no segment opened
        Assert.Equal(AppendStatus.Appended, (await after.AppendAsync("orders", writer, Batch(("producer\nkey-2", "new")))).Answers![0].Status);
    }

    [Fact]
    public async Task keys_older_than_the_window_are_forgotten()
    {
        var (appender, window) = Build();
        var writer = Writer();
        await appender.AppendAsync("orders", writer, Batch(("scope-a", "first")));

        _bed.Clock.Advance(TimeSpan.FromMinutes(11));
        var later = await appender.AppendAsync("orders", writer, Batch(("scope-a", "later")));

        Assert.False(later.Answers![0].Replayed);
        Assert.Equal(["first", "later"], TopicWriterTests.Values(writer.Active!.Path));
        Assert.Equal(1, window.Count);
    }

    [Fact]
    public async Task past_the_key_limit_the_oldest_keys_are_forgotten_first()
    {
        var (appender, window) = Build(maxKeys: 100);
        var writer = Writer();
        for (var i = 0; i < 150; i++)
        {
            await appender.AppendAsync("orders", writer, Batch(($"scope-{i}", "v")));
        }

        Assert.True(window.Count <= 100, $"at most 100 keys kept, {window.Count} are");
        Assert.False((await appender.AppendAsync("orders", writer, Batch(("scope-0", "v")))).Answers![0].Replayed);
        Assert.True((await appender.AppendAsync("orders", writer, Batch(("scope-149", "v")))).Answers![0].Replayed);
    }

    [Fact]
    public async Task a_kafka_level_request_is_answered_with_where_kafka_put_its_record_once_acknowledged()
    {
        var (appender, _) = Build();
        var writer = Writer();
        var batch = Batch((null, "one"), (null, "two")) with { Level = DurabilityLevel.Kafka };
        batch = batch with { Requests = [new RequestMark(0, batch.Frames.Length / 2, 1, null), new RequestMark(batch.Frames.Length / 2, batch.Frames.Length / 2, 1, null)] };

        var answering = appender.AppendAsync("orders", writer, batch).AsTask();
        await Poll.Until(() => _acks.Waiting.Count == 2, TimeSpan.FromSeconds(10), "both requests to wait for Kafka");
        var (segment, firstEnd) = _acks.Waiting[0].Position;
        Assert.Equal(writer.Active!.Sequence, segment);
        _acks.Ack(0, new KafkaAck(3, 41));
        _acks.Ack(1, new KafkaAck(3, 42));
        var result = await answering;

        Assert.Equal([(DurabilityLevel.Kafka, 3, 41L), (DurabilityLevel.Kafka, 3, 42L)], result.Answers!.Select(a => (a.Level, a.Partition, a.Offset)));
        Assert.Equal(Ingest.Segments.SegmentFile.HeaderSize + batch.Frames.Length / 2, firstEnd); // the first record's end in the segment
    }

    [Fact]
    public async Task a_kafka_level_request_not_acknowledged_within_the_wait_is_answered_with_the_disk_level_and_its_wait_forgotten()
    {
        var (appender, _) = Build();
        var batch = Batch((null, "slow")) with { Level = DurabilityLevel.Kafka };
        batch = batch with { Requests = [new RequestMark(0, batch.Frames.Length, 1, null)] };

        var result = await appender.AppendAsync("orders", Writer(), batch);

        Assert.Equal(AppendStatus.Appended, result.Answers![0].Status);
        Assert.Equal(DurabilityLevel.Flush, result.Answers[0].Level);
        Assert.Equal(1, _acks.Forgotten);
    }

    [Fact]
    public async Task kafka_level_on_a_silo_that_does_not_forward_is_refused_before_anything_is_written()
    {
        var (appender, _) = Build();
        _acks.Forwarding = false;
        var writer = Writer();

        var result = await appender.AppendAsync("orders", writer, Batch((null, "x")) with { Level = DurabilityLevel.Kafka });

        Assert.Equal(AppendStatus.LevelUnavailable, result.Status);
        Assert.Null(writer.Active);
    }

    [Fact]
    public async Task fsync_level_on_a_flush_silo_makes_its_commit_fsync_and_says_so()
    {
        var (appender, _) = Build();

        var result = await appender.AppendAsync("orders", Writer(), Batch((null, "x")) with { Level = DurabilityLevel.Fsync });

        Assert.Equal(DurabilityLevel.Fsync, result.Level);
        Assert.Equal(1, _bed.Disk.Fsyncs);
    }

    public void Dispose() => _bed.Dispose();

    private sealed class FakeAcks : IKafkaAcks
    {
        public bool Forwarding { get; set; } = true;

        public List<((long Segment, long End) Position, TaskCompletionSource<KafkaAck> Done)> Waiting { get; } = [];

        public int Forgotten { get; private set; }

        public bool IsForwarding => Forwarding;

        public Task<KafkaAck> WhenAcked(string topic, long segment, long endOffset)
        {
            var done = new TaskCompletionSource<KafkaAck>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Waiting)
            {
                Waiting.Add(((segment, endOffset), done));
            }

            return done.Task;
        }

        public void Forget(string topic, Task<KafkaAck> waiting) => Forgotten++;

        public void Ack(int index, KafkaAck ack) => Waiting[index].Done.SetResult(ack);
    }

    private TopicWriters? _writers;

    private TopicWriter Writer() => (_writers ??= _bed.Build(Durability.Flush)).Open("orders", () => Hourly, _ => { });

    private (RequestAppender Appender, RememberedKeys Window) Build(int maxKeys = 1000)
    {
        _writers ??= _bed.Build(Durability.Flush);
        var options = Microsoft.Extensions.Options.Options.Create(new IngestOptions { IdempotencyWindow = TimeSpan.FromMinutes(10), IdempotencyMaxKeys = maxKeys, KafkaAckWait = TimeSpan.FromMilliseconds(300) });
        var instruments = UnitInstruments.For(_bed.Budget);
        var window = new RememberedKeys(options, _bed.Clock, instruments);
        return (new RequestAppender(window, _acks, _bed.Store, options, instruments, NullLogger<RequestAppender>.Instance), window);
    }

    /// <summary>Requests of one record each, as a frontend frames them: keyed ones carry the key as a frame header.</summary>
    private AppendBatch Batch(params (string? Scope, string Value)[] requests)
    {
        var frames = new List<byte>();
        var marks = new List<RequestMark>();
        foreach (var (scope, value) in requests)
        {
            var start = frames.Count;
            var headers = scope is null ? [] : FrameHeaders.Encode(
                [new(FrameHeaders.IdempotencyKey, scope.Split('\n')[^1]), .. scope.Contains('\n') ? new[] { new KeyValuePair<string, string>(FrameHeaders.Producer, scope.Split('\n')[0]) } : []]);
            var bytes = Encoding.UTF8.GetBytes(value);
            var frame = new byte[RecordFrame.SizeOf(0, bytes.Length, headers.Length)];
            RecordFrame.Write(frame, _bed.Clock.GetUtcNow().ToUnixTimeMilliseconds(), [], false, headers, bytes);
            frames.AddRange(frame);
            if (scope is not null)
            {
                marks.Add(new RequestMark(start, frame.Length, 1, scope.Contains('\n') ? scope : "\n" + scope));
            }
        }

        return new AppendBatch(frames.ToArray(), requests.Length, marks.ToArray());
    }
}
