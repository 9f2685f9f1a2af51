using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Options;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Ingest.Topics;

/// <summary>
/// The only writer of its topic's active segment on this silo. Appends are group-committed: calls are
/// allowed to interleave (<see cref="ReentrantAttribute"/>) only so that appends arriving while a commit
/// waits for its fsync join the next commit; each commit is one gathered write (and one fsync under
/// Fsync durability), and every append in it gets the commit's result. All state is touched on the
/// activation's turn, so no locks are needed.
/// </summary>
[GrainType("ingest.topic")]
[Reentrant]
internal sealed class TopicGrain(
    SegmentStore store,
    DiskBudget budget,
    IngestInstruments instruments,
    ILogger<TopicGrain> logger,
    TimeProvider time,
    IOptions<IngestOptions> options,
    IAppendListener listener,
    IServiceProvider services) : Grain, ITopicGrain
{
    private readonly IFileFaults? _faults = services.GetService<IFileFaults>();
    private readonly long _maxSegmentBytes = options.Value.MaxSegmentBytes;
    private readonly List<ReadOnlyMemory<byte>> _parts = [];
    private List<PendingAppend> _waiting = [];
    private List<PendingAppend> _committing = [];
    private bool _commitLoopRunning;
    private string _topic = string.Empty;
    private TopicSegments? _segments;
    private ActiveSegment? _active;
    private KeyValuePair<string, object?> _topicTag;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _topic = this.GetPrimaryKeyString();
        if (!TopicName.IsValid(_topic))
        {
            throw new ArgumentException($"'{_topic}' is not a valid topic name.");
        }

        _topicTag = new(IngestInstruments.TopicTag, _topic);
        _segments = store.OpenTopic(_topic);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        SealActive();
        return Task.CompletedTask;
    }

    public ValueTask<AppendResult> Append(AppendBatch batch)
    {
        var bytes = batch.Frames.Length;
        if (batch.RecordCount <= 0 || RecordFrame.CountValidFrames(batch.Frames.Span) != batch.RecordCount)
        {
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.InvalidFrames)));
            return new(new AppendResult(AppendStatus.InvalidFrames, "the batch is not a sequence of valid frames"));
        }

        if (!budget.TryReserve(bytes, out var reason))
        {
            // Seal what is written so the forwarder can ship it and free its space; new appends get
            // 503 until it has.
            if (!_commitLoopRunning)
            {
                SealActive();
            }

            StorageLog.DiskBudgetExhausted(logger, _topic, reason);
            instruments.AppendsRefused.Add(1, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.DiskFull)));
            return new(new AppendResult(AppendStatus.DiskFull, reason));
        }

        var pending = new PendingAppend(batch);
        _waiting.Add(pending);
        if (!_commitLoopRunning)
        {
            _ = CommitLoopAsync();
        }

        return new(pending.Completion.Task);
    }

    private async Task CommitLoopAsync()
    {
        _commitLoopRunning = true;
        try
        {
            while (_waiting.Count > 0)
            {
                (_waiting, _committing) = (_committing, _waiting);
                var result = await CommitAsync(_committing);
                foreach (var pending in _committing)
                {
                    pending.Completion.SetResult(result);
                }

                _committing.Clear();
            }
        }
        finally
        {
            _commitLoopRunning = false;
        }
    }

    /// <summary>One write (and fsync) for every append in <paramref name="group"/>.</summary>
    private async ValueTask<AppendResult> CommitAsync(List<PendingAppend> group)
    {
        long bytes = 0;
        var records = 0;
        _parts.Clear();
        foreach (var pending in group)
        {
            _parts.Add(pending.Batch.Frames);
            bytes += pending.Batch.Frames.Length;
            records += pending.Batch.RecordCount;
        }

        var written = false;
        try
        {
            _active ??= OpenSegment();
            _active.Append(_parts, bytes);
            written = true;
            if (store.Fsync)
            {
                var segment = _active;
                await Task.Run(segment.FlushToDisk);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!written)
            {
                budget.Release(bytes);
            }

            StorageLog.AppendFailed(logger, e, _topic, _active?.Path, records);
            instruments.AppendsRefused.Add(group.Count, _topicTag, new(IngestInstruments.OutcomeTag, nameof(AppendStatus.WriteFailed)));
            SealActive();
            return new AppendResult(AppendStatus.WriteFailed, "the segment could not be written: " + e.Message);
        }
        finally
        {
            _parts.Clear();
        }

        instruments.RecordsAppended.Add(records, _topicTag);
        instruments.BytesAppended.Add(bytes, _topicTag);
        instruments.GroupCommits.Add(1, _topicTag);
        if (_active.Length >= _maxSegmentBytes)
        {
            SealActive();
        }

        listener.OnAppended(_topic);
        return AppendResult.Appended;
    }

    private ActiveSegment OpenSegment()
    {
        var path = _segments!.NextActivePath();
        var segment = ActiveSegment.Create(path, time.GetUtcNow().ToUnixTimeMilliseconds(), store.Fsync, _faults);
        StorageLog.SegmentCreated(logger, path);
        return segment;
    }

    private void SealActive()
    {
        var active = _active;
        if (active is null)
        {
            return;
        }

        _active = null;
        try
        {
            var sealedPath = active.Seal();
            instruments.SegmentsSealed.Add(1, _topicTag);
            StorageLog.SegmentSealed(logger, sealedPath, active.Length);
            listener.OnAppended(_topic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file stays .active; the next silo start recovers and seals it.
            active.Dispose();
            StorageLog.AppendFailed(logger, e, _topic, active.Path, 0);
        }
    }

    private sealed class PendingAppend(AppendBatch batch)
    {
        public AppendBatch Batch { get; } = batch;

        public TaskCompletionSource<AppendResult> Completion { get; } = new();
    }
}
