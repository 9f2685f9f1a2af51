using System.Buffers;
using System.Collections.Concurrent;
using Ingest.Api.Diagnostics;
using Ingest.Api.Options;
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
/// </summary>
internal sealed class TopicAppender(IGrainFactory grains, IOptions<IngestApiOptions> options, ILogger<TopicAppender> logger)
{
    private readonly ConcurrentDictionary<string, TopicQueue> _queues = new(StringComparer.Ordinal);
    private readonly IngestApiOptions _options = options.Value;
    private readonly IGrainFactory _grains = grains;
    private readonly ILogger _logger = logger;

    public Task<AppendResult> AppendRecord(string topic, long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value) =>
        QueueFor(topic).AppendRecord(timestampMs, key, hasKey, value);

    public Task<AppendResult> AppendFrames(string topic, ReadOnlySpan<byte> frames, int recordCount) =>
        QueueFor(topic).AppendFrames(frames, recordCount);

    private TopicQueue QueueFor(string topic) =>
        _queues.TryGetValue(topic, out var queue)
            ? queue
            : _queues.GetOrAdd(topic, static (t, self) => new TopicQueue(t, self), this);

    /// <summary>One topic's batches in this frontend: at most one call in flight, the rest waiting.</summary>
    private sealed class TopicQueue(string topic, TopicAppender owner)
    {
        private static readonly Task<AppendResult> Overloaded = Task.FromResult(new AppendResult(
            AppendStatus.Overloaded, "too many records are waiting for this topic in this frontend"));

        private readonly Lock _gate = new();
        private readonly ITopicGrain _grain = owner._grains.GetGrain<ITopicGrain>(topic);
        private readonly Queue<TopicBatch> _full = new();
        private readonly int _callBytes = owner._options.MaxCallBytes;
        private readonly long _maxPending = owner._options.MaxPendingBytesPerTopic;
        private TopicBatch? _open;
        private long _pendingBytes;
        private bool _sending;

        public Task<AppendResult> AppendRecord(long timestampMs, ReadOnlySpan<byte> key, bool hasKey, in ReadOnlySequence<byte> value)
        {
            var size = RecordFrame.SizeOf(hasKey ? key.Length : 0, (int)value.Length);
            TopicBatch? toSend;
            Task<AppendResult> completion;
            lock (_gate)
            {
                if (_pendingBytes + size > _maxPending)
                {
                    return Overloaded;
                }

                var batch = BatchWithRoomLocked(size);
                batch.AddRecord(timestampMs, key, hasKey, value);
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

        public Task<AppendResult> AppendFrames(ReadOnlySpan<byte> frames, int recordCount)
        {
            TopicBatch? toSend;
            Task<AppendResult> completion;
            lock (_gate)
            {
                if (_pendingBytes + frames.Length > _maxPending)
                {
                    return Overloaded;
                }

                var batch = BatchWithRoomLocked(frames.Length);
                batch.AddFrames(frames, recordCount);
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

        /// <summary>The open batch if the frames fit under the call size, else a new one (a request is never split).</summary>
        private TopicBatch BatchWithRoomLocked(int size)
        {
            if (_open is not null && _open.RecordCount > 0 && _open.Length + size > _callBytes)
            {
                _full.Enqueue(_open);
                _open = null;
            }

            return _open ??= new TopicBatch(Math.Max(size, Math.Min(_callBytes, 64 * 1024)));
        }

        /// <summary>If no call is in flight, takes the next batch and marks one in flight.</summary>
        private TopicBatch? NextToSendLocked()
        {
            if (_sending)
            {
                return null;
            }

            var next = TakeLocked();
            _sending = next is not null;
            return next;
        }

        private TopicBatch? TakeLocked()
        {
            if (_full.TryDequeue(out var batch))
            {
                return batch;
            }

            batch = _open;
            _open = null;
            return batch;
        }

        /// <summary>
        /// Sends batches one after another while any are waiting. The next call is started before the
        /// finished batch's requests are completed, and those complete inline on this thread: the grain
        /// works on the next batch while this thread writes the answers, and no request needs a thread
        /// hand-off to learn its result.
        /// </summary>
        private async Task SendAsync(TopicBatch batch)
        {
            var call = CallAsync(batch);
            while (true)
            {
                var (result, answered) = await call;
                TopicBatch? next;
                lock (_gate)
                {
                    _pendingBytes -= batch.Length;
                    next = TakeLocked();
                    _sending = next is not null;
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
            try
            {
                return (await _grain.Append(new AppendBatch(batch.Frames, batch.RecordCount)), true);
            }
            catch (Exception e)
            {
                // Timeouts, a silo that died, no gateway: not stored, the client may retry.
                ApiLog.AppendCallFailed(owner._logger, e, topic, batch.RecordCount);
                return (new AppendResult(AppendStatus.Unavailable, "the cluster did not answer: " + e.GetType().Name), false);
            }
        }
    }
}
