using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Ingest.Api.Diagnostics;
using Ingest.Api.Options;
using Ingest.Api.Parsing;
using Ingest.Diagnostics;
using Ingest.Records;
using Ingest.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Appending;

/// <summary>
/// Coalesces concurrent requests for one topic into one grain call. While a topic's call is in flight,
/// arriving records are framed into the next batch; when the call answers, that batch goes at once.
/// At low load a request is sent alone (no added latency); under load one call carries many requests,
/// which is what makes a grain call per HTTP request affordable.
/// <para>
/// Every request is answered within <see cref="ClusterSettings.ResponseTimeout"/> of joining its queue, however
/// long the calls before it take (a silo that went silent holds a call until Orleans gives up on it, and the
/// batches behind it wait): one sweep, a few times per timeout, answers the batches that waited too long with
/// 503. It visits only the topics with a call in flight, so it costs what the traffic costs.
/// </para>
/// </summary>
internal sealed class TopicAppender : IDisposable
{
    private readonly ConcurrentDictionary<string, TopicQueue> _queues = new(StringComparer.Ordinal);
    // Requests that asked for a durability level of their own (?durability=) are batched apart, one level per call.
    private readonly ConcurrentDictionary<(string Topic, DurabilityLevel Level), TopicQueue> _leveled = new();
    private readonly ConcurrentDictionary<TopicQueue, byte> _busy = new();
    private readonly IngestApiOptions _options;
    private readonly IGrainFactory _grains;
    private readonly RequestGate _gate;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _answerWithin;
    private readonly TimeSpan _kafkaAckWait;
    private readonly AppendResult _expiredInFlight;
    private readonly AppendResult _expiredUnsent;
    private readonly ITimer _sweep;

    public TopicAppender(IGrainFactory grains, RequestGate gate, IOptions<IngestApiOptions> options, IOptions<ClusterSettings> cluster, TimeProvider time, ILogger<TopicAppender> logger)
    {
        _grains = grains;
        _gate = gate;
        _options = options.Value;
        _logger = logger;
        _time = time;
        _answerWithin = cluster.Value.ResponseTimeout;
        _kafkaAckWait = _options.KafkaAckWait;
        var within = $"within {_answerWithin.TotalSeconds:0.#} s (Cluster:ResponseTimeout)";
        _expiredInFlight = new AppendResult(AppendStatus.Indeterminate, $"the cluster did not answer {within}");
        _expiredUnsent = new AppendResult(AppendStatus.Unavailable, $"the topic's grain did not take the records {within}");
        var period = TimeSpan.FromTicks(Math.Clamp(_answerWithin.Ticks / 8, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromMilliseconds(500).Ticks));
        _sweep = time.CreateTimer(_ => Sweep(), null, period, period);
    }

    public void Dispose() => _sweep.Dispose();

    /// <summary>Answers the batches whose first request has waited longer than the response timeout.</summary>
    internal void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var (queue, _) in _busy)
        {
            queue.ExpireWaitedSince(now, queue.Level == DurabilityLevel.Kafka ? _answerWithin + _kafkaAckWait : _answerWithin);
        }
    }

    public Task<AppendResult> AppendRecord(string topic, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value) =>
        QueueFor(topic).AppendRecord(timestampMs, key, hasKey, value, null, out _);

    /// <summary>A record of a request with its own answer (an idempotency key): <paramref name="request"/> indexes the result's answers.</summary>
    public Task<AppendResult> AppendRecord(string topic, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value, RequestHeaders? headers, out int request) =>
        QueueFor(topic).AppendRecord(timestampMs, key, hasKey, value, headers, out request);

    public Task<AppendResult> AppendFrames(string topic, ReadOnlySpan<byte> frames, int recordCount) =>
        QueueFor(topic).AppendFrames(frames, recordCount, null, out _);

    /// <summary>A request's frames; with a <paramref name="scope"/>, <paramref name="request"/> indexes the result's answers.</summary>
    public Task<AppendResult> AppendFrames(string topic, ReadOnlySpan<byte> frames, int recordCount, string? scope, out int request) =>
        QueueFor(topic).AppendFrames(frames, recordCount, scope, out request);

    /// <summary>A record of a request that asked for <paramref name="level"/> (<see cref="DurabilityLevel.Default"/>: the silo's).</summary>
    public Task<AppendResult> AppendRecord(string topic, DurabilityLevel level, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value, RequestHeaders? headers, out int request) =>
        QueueFor(topic, level).AppendRecord(timestampMs, key, hasKey, value, headers, out request);

    /// <summary>A request's frames, for a request that asked for <paramref name="level"/>.</summary>
    public Task<AppendResult> AppendFrames(string topic, DurabilityLevel level, ReadOnlySpan<byte> frames, int recordCount, string? scope, out int request) =>
        QueueFor(topic, level).AppendFrames(frames, recordCount, scope, out request);

    /// <summary>
    /// Whether a topic's next call first lets the work queued on this node run (one pass of the thread pool's queue),
    /// so that the requests being read join it instead of the call leaving with the few records that came during the
    /// one just answered. Only when the pass can gather something:
    /// <list type="bullet">
    /// <item>work is queued: at low load nothing is, and the next call leaves at once (nothing waits for requests yet to come);</item>
    /// <item>the call answered was a Flush call: an fsync or a wait for Kafka takes milliseconds, in which every request
    /// that could come has come, and a pass would only delay the next;</item>
    /// <item>the node would admit what is queued (<paramref name="queuedWorkItems"/> ≤ <paramref name="nodeRoom"/>,
    /// <see cref="RequestGate.Room"/>): past its room, what a pass reads is answered 503 and joins nothing. Under
    /// overload the queue is long with those 503s, and a pass before every call stretched each call to the length of
    /// the queue: at 2× the maximum from 1,024 connections the accepted rate fell to 0.09–0.34 of the maximum, against
    /// 0.80–0.92 with this rule (bench/README.md, issue 21).</item>
    /// </list>
    /// </summary>
    internal static bool LetsQueuedWorkRunFirst(DurabilityLevel answered, DurabilityLevel queue, long queuedWorkItems, int nodeRoom) =>
        answered == DurabilityLevel.Flush && queue != DurabilityLevel.Kafka && queuedWorkItems > 0 && queuedWorkItems <= nodeRoom;

    /// <summary>The rule above, reading the thread pool's queue and the gate only when the levels allow a pass at all.</summary>
    private bool LetsQueuedWorkRunFirst(DurabilityLevel answered, DurabilityLevel queue) =>
        answered == DurabilityLevel.Flush && queue != DurabilityLevel.Kafka
        && LetsQueuedWorkRunFirst(answered, queue, ThreadPool.PendingWorkItemCount, _gate.Room);

    private TopicQueue QueueFor(string topic) =>
        _queues.TryGetValue(topic, out var queue)
            ? queue
            : _queues.GetOrAdd(topic, static (t, self) => new TopicQueue(t, self, DurabilityLevel.Default), this);

    private TopicQueue QueueFor(string topic, DurabilityLevel level) =>
        level == DurabilityLevel.Default
            ? QueueFor(topic)
            : _leveled.TryGetValue((topic, level), out var queue)
                ? queue
                : _leveled.GetOrAdd((topic, level), static (key, self) => new TopicQueue(key.Topic, self, key.Level), this);

    /// <summary>One topic's batches (of one durability level) in this frontend: at most one call in flight, the rest waiting.</summary>
    private sealed class TopicQueue(string topic, TopicAppender owner, DurabilityLevel level)
    {
        public DurabilityLevel Level => level;

        // Kafka-level requests each get an answer of their own (their level, and for one record where Kafka put it).
        private readonly bool _markEach = level == DurabilityLevel.Kafka;

        private static readonly Task<AppendResult> Overloaded = Task.FromResult(new AppendResult(
            AppendStatus.Overloaded, "too many records are waiting for this topic in this frontend"));

        private readonly Lock _gate = new();
        /// <summary>The batch whose call is in flight; null when none is (at most one per topic).</summary>
        private TopicBatch? _inFlight;
        private readonly ITopicGrain _grain = owner._grains.GetGrain<ITopicGrain>(topic);
        private readonly Queue<TopicBatch> _full = new();
        private readonly int _callBytes = owner._options.MaxCallBytes;
        private readonly long _maxPending = owner._options.MaxPendingBytesPerTopic;
        private TopicBatch? _open;
        private long _pendingBytes;

        public Task<AppendResult> AppendRecord(long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value, RequestHeaders? headers, out int request)
        {
            var size = RecordFrame.SizeOf(hasKey ? key.Length : 0, (int)value.Length, headers?.MaxBlockLength ?? 0);
            TopicBatch? toSend;
            Task<AppendResult> completion;
            request = -1;
            lock (_gate)
            {
                if (_pendingBytes + size > _maxPending)
                {
                    return Overloaded;
                }

                var batch = BatchWithRoomLocked(size);
                request = batch.AddRecord(timestampMs, key, hasKey, value, headers, _markEach);
                LinkRequestLocked(batch);
                completion = batch.Completion.Task;
                _pendingBytes += size;
                toSend = NextToSendLocked();
            }

            if (toSend is not null)
            {
                _ = SendAsync(toSend);
            }

            return completion;
        }

        public Task<AppendResult> AppendFrames(ReadOnlySpan<byte> frames, int recordCount, string? scope, out int request)
        {
            TopicBatch? toSend;
            Task<AppendResult> completion;
            request = -1;
            lock (_gate)
            {
                if (_pendingBytes + frames.Length > _maxPending)
                {
                    return Overloaded;
                }

                var batch = BatchWithRoomLocked(frames.Length);
                request = batch.AddFrames(frames, recordCount, scope, _markEach);
                LinkRequestLocked(batch);
                completion = batch.Completion.Task;
                _pendingBytes += frames.Length;
                toSend = NextToSendLocked();
            }

            if (toSend is not null)
            {
                _ = SendAsync(toSend);
            }

            return completion;
        }

        /// <summary>With tracing on, the calling request's recorded span joins the links of the call that carries it.</summary>
        private static void LinkRequestLocked(TopicBatch batch)
        {
            if (IngestTracing.RecordedRequestSpan is { } request)
            {
                batch.Link(request.Context);
            }
        }

        /// <summary>The open batch if the frames fit under the call size, else a new one (a request is never split).</summary>
        private TopicBatch BatchWithRoomLocked(int size)
        {
            if (_open is not null && _open.RecordCount > 0 && _open.Length + size > _callBytes)
            {
                _full.Enqueue(_open);
                _open = null;
            }

            return _open ??= new TopicBatch(Math.Max(size, Math.Min(_callBytes, 64 * 1024)), owner._time.GetTimestamp());
        }

        /// <summary>If no call is in flight, takes the next batch and marks one in flight.</summary>
        private TopicBatch? NextToSendLocked()
        {
            if (_inFlight is not null)
            {
                return null;
            }

            var next = TakeLocked();
            _inFlight = next;
            if (next is not null)
            {
                owner._busy.TryAdd(this, 0);
            }

            return next;
        }

        /// <summary>
        /// Answers every batch whose first request joined more than <paramref name="limit"/> ago: the one in
        /// flight may yet be stored; a waiting one is never sent (its requests are told it was not stored).
        /// </summary>
        public void ExpireWaitedSince(long now, TimeSpan limit)
        {
            List<(TopicBatch Batch, AppendResult Answer)>? expired = null;
            lock (_gate)
            {
                if (_inFlight is { Expired: false } flying && owner._time.GetElapsedTime(flying.CreatedTimestamp, now) > limit)
                {
                    flying.Expired = true;
                    (expired ??= []).Add((flying, owner._expiredInFlight));
                }

                foreach (var queued in _full)
                {
                    if (!queued.Expired && owner._time.GetElapsedTime(queued.CreatedTimestamp, now) > limit)
                    {
                        queued.Expired = true;
                        (expired ??= []).Add((queued, owner._expiredUnsent));
                    }
                }

                if (_open is { } open && owner._time.GetElapsedTime(open.CreatedTimestamp, now) > limit)
                {
                    // Closed as well: the requests that come next start a batch of their own.
                    open.Expired = true;
                    (expired ??= []).Add((open, owner._expiredUnsent));
                    _full.Enqueue(open);
                    _open = null;
                }
            }

            // Outside the lock: the requests' continuations write their answers inline.
            foreach (var (batch, answer) in expired ?? [])
            {
                batch.Expire(answer);
            }
        }

        /// <summary>The next batch to send; batches already answered (expired while waiting) are dropped unsent.</summary>
        private TopicBatch? TakeLocked()
        {
            while (_full.TryDequeue(out var batch))
            {
                if (!batch.Expired)
                {
                    return batch;
                }

                _pendingBytes -= batch.Length;
                batch.Discard();
            }

            var open = _open;
            _open = null;
            return open;
        }

        /// <summary>
        /// Sends batches one after another while any are waiting. The next call is started before the
        /// finished batch's requests are completed, and those complete inline on this thread: the grain
        /// works on the next batch while this thread writes the answers, and no request needs a thread
        /// hand-off to learn its result. Under load, after a Flush call, the next call may first let the work
        /// already queued on the node run (<see cref="TopicAppender.LetsQueuedWorkRunFirst"/>), so that it carries what arrived
        /// in that pass too: a grain call and a disk write cost ~17 µs of CPU each time, whatever they carry
        /// (bench/README.md, issue 21).
        /// </summary>
        private async Task SendAsync(TopicBatch batch)
        {
            var call = CallAsync(batch);
            while (true)
            {
                var (result, answered) = await call;
                if (owner.LetsQueuedWorkRunFirst(result.Level, level))
                {
                    await Task.Yield();
                }

                TopicBatch? next;
                lock (_gate)
                {
                    _pendingBytes -= batch.Length;
                    next = TakeLocked();
                    _inFlight = next;
                    if (next is null)
                    {
                        owner._busy.TryRemove(this, out _);
                    }
                }

                if (next is not null)
                {
                    call = CallAsync(next);
                }

                batch.Complete(result, answered);
                if (next is null)
                {
                    return;
                }

                batch = next;
            }
        }

        private async Task<(AppendResult Result, bool Answered)> CallAsync(TopicBatch batch)
        {
            // One call serves many requests (and traces): its span is linked to theirs, not a child of one.
            using var span = batch.Links is { } links ? IngestTracing.StartLinked("ingest.append", ActivityKind.Client, links) : null;
            span?.SetTag(IngestTracing.Tags.Topic, topic)
                .SetTag(IngestTracing.Tags.Records, batch.RecordCount)
                .SetTag(IngestTracing.Tags.Bytes, batch.Length)
                .SetTag(IngestTracing.Tags.Requests, batch.Links!.Count)
                .SetTag(IngestTracing.Tags.Durability, level.ToString().ToLowerInvariant());
            try
            {
                var call = new AppendBatch(batch.Frames, batch.RecordCount, batch.Marks, level, IngestTracing.TraceParentOf(span));
                var result = await (level == DurabilityLevel.Kafka ? _grain.AppendAwaitingKafka(call) : _grain.Append(call));
                Traced(span, result);
                return (result, true);
            }
            catch (Exception e)
            {
                // Timeouts, a silo that died, no gateway: the call may have been delivered, so the outcome is unknown.
                ApiLog.AppendCallFailed(owner._logger, e, topic, batch.RecordCount);
                var unknown = new AppendResult(AppendStatus.Indeterminate, "the cluster did not answer: " + e.GetType().Name);
                Traced(span, unknown);
                return (unknown, false);
            }
        }

        private static void Traced(Activity? span, AppendResult result)
        {
            if (span is null)
            {
                return;
            }

            span.SetTag(IngestTracing.Tags.Outcome, result.Status.ToString());
            if (result.Status != AppendStatus.Appended)
            {
                span.SetStatus(ActivityStatusCode.Error, result.Detail);
            }
        }
    }
}
