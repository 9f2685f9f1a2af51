using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using Ingest.Api.Appending;
using Ingest.Api.Options;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Appending;

/// <summary>
/// The frontend answers every request within Cluster:ResponseTimeout, whatever the grain call does: with a
/// grain that never answers (a silo gone silent), a fake clock and the appender's sweep.
/// </summary>
public sealed class TopicAppenderDeadlineTests
{
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task a_request_whose_call_hangs_is_answered_503_at_the_response_timeout_and_the_requests_queued_behind_it_are_never_sent()
    {
        var time = new FakeTimeProvider();
        var grain = new SilentGrain();
        using var appender = Appender(grain, time);

        var first = appender.AppendRecord("silent", 1, default, false, Value("one"));
        Assert.Single(grain.Calls);
        time.Advance(TimeSpan.FromSeconds(1));
        var queued = appender.AppendRecord("silent", 2, default, false, Value("two"));
        Assert.Single(grain.Calls); // one call in flight per topic: the second waits behind it

        time.Advance(ResponseTimeout - TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(500));
        var firstAnswer = await first.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(AppendStatus.Indeterminate, firstAnswer.Status); // sent: it may yet be stored
        Assert.Contains("did not answer within 3 s", firstAnswer.Detail);
        Assert.False(queued.IsCompleted, "the request that joined a second later still has time");

        time.Advance(TimeSpan.FromSeconds(1));
        var queuedAnswer = await queued.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(AppendStatus.Unavailable, queuedAnswer.Status); // never sent: not stored
        Assert.Contains("did not take the records within 3 s", queuedAnswer.Detail);

        // The silent call ends at last (Orleans gives up on it): the expired batch behind it is dropped, not sent.
        grain.Calls.Single().SetResult(AppendResult.Appended);
        Assert.Single(grain.Calls);

        // And the topic works again for the next request (sent once the appender has seen the late answer).
        var next = appender.AppendRecord("silent", 3, default, false, Value("three"));
        await Poll.Until(() => grain.Calls.Count == 2, TimeSpan.FromSeconds(5), "the next request's call, after the silent one ended");
        grain.Calls.Last().SetResult(AppendResult.Appended);
        Assert.Equal(AppendStatus.Appended, (await next.WaitAsync(TimeSpan.FromSeconds(5))).Status);
    }

    [Fact]
    public async Task a_call_that_answers_in_time_is_not_touched_by_the_sweep()
    {
        var time = new FakeTimeProvider();
        var grain = new SilentGrain();
        using var appender = Appender(grain, time);

        var pending = appender.AppendRecord("prompt", 1, default, false, Value("one"));
        time.Advance(ResponseTimeout - TimeSpan.FromMilliseconds(200));
        Assert.False(pending.IsCompleted);
        grain.Calls.Single().SetResult(AppendResult.Appended);

        Assert.Equal(AppendStatus.Appended, (await pending.WaitAsync(TimeSpan.FromSeconds(5))).Status);
        time.Advance(TimeSpan.FromSeconds(10));
        var later = appender.AppendRecord("prompt", 2, default, false, Value("two"));
        await Poll.Until(() => grain.Calls.Count == 2, TimeSpan.FromSeconds(5), "the next request's call");
        grain.Calls.Last().SetResult(AppendResult.Appended);
        Assert.Equal(AppendStatus.Appended, (await later.WaitAsync(TimeSpan.FromSeconds(5))).Status);
    }

    private static TopicAppender Appender(SilentGrain grain, TimeProvider time) =>
        new(GrainFactoryOf(grain), new RequestGate(Microsoft.Extensions.Options.Options.Create(new IngestApiOptions())), Microsoft.Extensions.Options.Options.Create(new IngestApiOptions()),
            Microsoft.Extensions.Options.Options.Create(new ClusterSettings { ResponseTimeout = ResponseTimeout }), time, NullLogger<TopicAppender>.Instance);

    private static ReadOnlySequence<byte> Value(string text) => new(System.Text.Encoding.UTF8.GetBytes(text));

    private static IGrainFactory GrainFactoryOf(ITopicGrain grain)
    {
        var factory = DispatchProxy.Create<IGrainFactory, OneGrainFactory>();
        ((OneGrainFactory)(object)factory).Grain = grain;
        return factory;
    }

    /// <summary>An <see cref="IGrainFactory"/> that hands out one topic grain, whatever the key.</summary>
    public class OneGrainFactory : DispatchProxy
    {
        public ITopicGrain Grain { get; set; } = null!;

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method is { Name: nameof(IGrainFactory.GetGrain), IsGenericMethod: true } && method.GetGenericArguments()[0] == typeof(ITopicGrain)
                ? Grain
                : throw new NotSupportedException(method?.Name);
    }

    /// <summary>A topic grain whose calls answer only when the test says so.</summary>
    private sealed class SilentGrain : ITopicGrain
    {
        public ConcurrentQueue<TaskCompletionSource<AppendResult>> Calls { get; } = new();

        public ValueTask<AppendResult> Append(AppendBatch batch)
        {
            var call = new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            Calls.Enqueue(call);
            return new ValueTask<AppendResult>(call.Task);
        }

        public ValueTask<AppendResult> AppendAwaitingKafka(AppendBatch batch) => Append(batch);

        public Task HandOver() => throw new NotSupportedException("the frontend never hands a topic over");
    }
}
