using System.Text;
using Ingest.Options;
using Ingest.Records;
using Ingest.Rotation;
using Ingest.Tests.Infrastructure;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Topics;

/// <summary>
/// The topic grain's idempotency decisions on their own (<see cref="IdempotentAppender"/>, <see cref="RememberedKeys"/>):
/// real topic writers on a temporary disk and a fake clock; a "restart" is a new window over the same directory.
/// </summary>
public sealed class IdempotentAppenderTests : IDisposable
{
    private static readonly RotationPolicy Hourly = new(TimeSpan.FromHours(1), 1 << 20);

    private readonly WriterBed _bed = new();

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

    public void Dispose() => _bed.Dispose();

    private TopicWriters? _writers;

    private TopicWriter Writer() => (_writers ??= _bed.Build(Durability.Flush)).Open("orders", () => Hourly, _ => { });

    private (IdempotentAppender Appender, RememberedKeys Window) Build(int maxKeys = 1000)
    {
        _writers ??= _bed.Build(Durability.Flush);
        var options = Microsoft.Extensions.Options.Options.Create(new IngestOptions { IdempotencyWindow = TimeSpan.FromMinutes(10), IdempotencyMaxKeys = maxKeys });
        var instruments = UnitInstruments.For(_bed.Budget);
        var window = new RememberedKeys(options, _bed.Clock, instruments);
        return (new IdempotentAppender(window, _bed.Store, instruments, NullLogger<IdempotentAppender>.Instance), window);
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
