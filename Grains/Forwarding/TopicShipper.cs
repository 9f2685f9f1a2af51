using System.Buffers;
using System.Buffers.Binary;
using Confluent.Kafka;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ingest.Forwarding;

/// <summary>
/// Ships one topic's segments on this node to Kafka, in order, tailing the active segment. This is
/// where a record is shipped and where a shipped segment is deleted.
/// <list type="bullet">
/// <item>Reading runs ahead of acknowledgement by at most a fixed window (<c>Kafka:MaxInFlightRecords</c>
/// / <c>MaxInFlightBytes</c>): memory stays bounded whatever the backlog.</item>
/// <item>Every record sent takes a slot in a ring, in file order. Delivery reports (from librdkafka's
/// thread, in any order across partitions) only mark their slot; this loop advances the acknowledged
/// position over the prefix of successful slots. The checkpoint is that position, persisted.</item>
/// <item>After the last record of a sealed segment a marker slot follows; when it reaches the head,
/// every record of the segment is acknowledged: the checkpoint moves past it, then the file is retired
/// (archived, see Archive/SegmentArchive.cs, or for a replay, its link deleted).</item>
/// <item>A replay shipper reads a replay job's directory instead, ships only records inside the job's
/// time window (the others take a slot that is complete at once, so the checkpoint still passes them),
/// and finishes when its directory holds no segment.</item>
/// <item>Any failed report (or a rebuilt producer): wait until every report in flight is in, rewind
/// reading to the acknowledged position, back off, resend. Nothing is skipped; duplicates are bounded
/// by the window.</item>
/// </list>
/// </summary>
internal sealed class TopicShipper : IAsyncDisposable
{
    private const int ReadChunk = 1 << 20;
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly string _topic;
    private readonly string _directory;
    private readonly Func<string> _kafkaTopicOf;
    private string _kafkaTopic;
    private readonly KafkaProducerHost _producer;
    private readonly KafkaEndpoint _endpoint;
    private readonly KafkaOptions _options;
    private readonly Func<string, bool> _retire;
    private readonly ShipWindow _window;
    private readonly Action? _finished;
    private readonly IngestInstruments _instruments;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly bool _fsync;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Slot?[] _ring;
    private readonly KeyValuePair<string, object?> _topicTag;
    private Task _loop = Task.CompletedTask;

    private int _head;
    private int _count;
    private long _inFlightBytes;
    private Reports _reports = new();
    private string? _lastError;

    private long _readSegment;
    private long _readOffset;
    private SafeFileHandle? _readHandle;
    private long _readHandleSegment = -1;
    private bool _readHandleSealed;

    // Backlog in records: records on disk at start past the checkpoint, plus appended since, minus shipped since.
    private readonly AppendCount? _appended;
    private readonly bool _countExisting;
    private long _backlogBase;
    private long _appendedAtStart;
    private bool _backlogCounted;

    private Checkpoint _acked;
    private Checkpoint _persisted;
    private int _unpersistedRecords;
    private long _persistedAt;
    private long _shippedRecords;

    public TopicShipper(
        string topic,
        string directory,
        KafkaProducerHost producer,
        KafkaEndpoint endpoint,
        KafkaOptions options,
        Func<string> kafkaTopic,
        Func<string, bool> retire,
        bool fsync,
        IngestInstruments instruments,
        ILogger logger,
        TimeProvider time,
        ShipWindow window = default,
        Action? finished = null,
        AppendCount? appended = null,
        bool countExisting = false)
    {
        _topic = topic;
        _directory = directory;
        _kafkaTopicOf = kafkaTopic;
        _kafkaTopic = kafkaTopic();
        _producer = producer;
        _endpoint = endpoint;
        _options = options;
        _retire = retire;
        _window = window;
        _finished = finished;
        _fsync = fsync;
        _instruments = instruments;
        _logger = logger;
        _time = time;
        _ring = new Slot?[options.MaxInFlightRecords + 1];
        _topicTag = instruments.TagFor(topic);
        _appended = appended;
        _countExisting = countExisting;
    }

    public string Topic => _topic;

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>New records were appended, a segment was sealed, or a report came in.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    public TopicForwardingStatus Status()
    {
        var acked = _acked;
        long unshipped = 0;
        long? oldestMs = null;
        foreach (var (sequence, path) in ListSegments())
        {
            if (sequence < acked.Segment)
            {
                continue;
            }

            var start = sequence == acked.Segment ? Math.Max(acked.Offset, SegmentFile.HeaderSize) : SegmentFile.HeaderSize;
            var length = SegmentFile.LengthOrZero(path);
            if (length > start)
            {
                unshipped += length - start;
                oldestMs ??= FrameTimestampAt(path, start);
            }
        }

        return new TopicForwardingStatus(_topic, _kafkaTopic, acked.Segment, acked.Offset, Volatile.Read(ref _shippedRecords), Volatile.Read(ref _reports.Pending), unshipped, _lastError)
        {
            BacklogRecords = BacklogRecords(unshipped),
            OldestUnshippedMs = oldestMs,
            AppendedRecords = _appended is null ? 0 : Volatile.Read(ref _appended.Value),
        };
    }

    /// <summary>
    /// Records on disk not yet acknowledged. Exact for topics this process created; for directories found
    /// at start it begins from a count of their frames, and it is reset to 0 whenever no byte is unshipped.
    /// </summary>
    private long BacklogRecords(long unshippedBytes)
    {
        if (_appended is null || !Volatile.Read(ref _backlogCounted))
        {
            return 0;
        }

        var appendedSince = Volatile.Read(ref _appended.Value) - _appendedAtStart;
        var shipped = Volatile.Read(ref _shippedRecords);
        if (unshippedBytes == 0)
        {
            Volatile.Write(ref _backlogBase, shipped - appendedSince);
            return 0;
        }

        return Math.Max(0, Volatile.Read(ref _backlogBase) + appendedSince - shipped);
    }

    /// <summary>The ingest time of the frame at <paramref name="offset"/> (its header is complete once the length says so), or null.</summary>
    private static long? FrameTimestampAt(string path, long offset)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[RecordFrame.HeaderSize + 8];
            return RandomAccess.Read(handle, header, offset) == header.Length ? BinaryPrimitives.ReadInt64LittleEndian(header[RecordFrame.HeaderSize..]) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // shipped and retired meanwhile
        }
    }

    /// <summary>Counts the frames past the checkpoint in the segments present now (directories found at start).</summary>
    private void CountBacklogAtStart()
    {
        if (_appended is null || _backlogCounted)
        {
            return;
        }

        _appendedAtStart = Volatile.Read(ref _appended.Value);
        long records = 0;
        if (_countExisting)
        {
            Span<byte> header = stackalloc byte[RecordFrame.HeaderSize];
            foreach (var (sequence, path) in ListSegments().Where(s => s.Sequence >= _acked.Segment))
            {
                try
                {
                    using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    var length = RandomAccess.GetLength(handle);
                    var offset = sequence == _acked.Segment ? Math.Max(_acked.Offset, SegmentFile.HeaderSize) : SegmentFile.HeaderSize;
                    while (offset + RecordFrame.HeaderSize <= length && RandomAccess.Read(handle, header, offset) == header.Length)
                    {
                        var next = offset + RecordFrame.HeaderSize + BinaryPrimitives.ReadUInt32LittleEndian(header);
                        if (next > length)
                        {
                            break;
                        }

                        records++;
                        offset = next;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Retired meanwhile: nothing of it is backlog.
                }
            }
        }

        Volatile.Write(ref _backlogBase, records);
        Volatile.Write(ref _backlogCounted, true);
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                Initialize();
                if (await ShipAsync())
                {
                    break; // a replay that finished: its directory holds nothing more to ship
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                KafkaLog.ShipperCrashed(_logger, e, _topic);
                await WaitForSettledReportsAsync(Timeout.InfiniteTimeSpan);
                await DelayAsync(TimeSpan.FromSeconds(1));
            }
        }

        Persist(force: true);
        CloseReadHandle();
    }

    private void Initialize()
    {
        ResetRing();
        var checkpoint = Checkpoint.Load(_directory, out var unreadable);
        var segments = ListSegments();
        if (unreadable)
        {
            KafkaLog.CheckpointUnreadable(_logger, _topic, Path.Combine(_directory, Checkpoint.FileName));
        }

        if (checkpoint is { } saved)
        {
            // Segments below the checkpoint were shipped; a crash came between the checkpoint and the delete.
            foreach (var (sequence, path) in segments.Where(s => s.Sequence < saved.Segment && s.Path.EndsWith(SegmentFile.SealedExtension, StringComparison.Ordinal)))
            {
                Retire(sequence, path);
            }

            KafkaLog.Resuming(_logger, _topic, saved.Segment, saved.Offset);
        }

        _acked = checkpoint ?? new Checkpoint(segments.Count > 0 ? segments[0].Sequence : 1, SegmentFile.HeaderSize);
        _persisted = _acked;
        _unpersistedRecords = 0;
        _readSegment = _acked.Segment;
        _readOffset = Math.Max(_acked.Offset, SegmentFile.HeaderSize);
        CloseReadHandle();
        _endpoint.EnsureTopic(_kafkaTopic);
        CountBacklogAtStart();
    }

    /// <summary>Ships until stopped; returns true when a replay shipper finished its job (it must then not start again).</summary>
    private async Task<bool> ShipAsync()
    {
        var generation = _producer.Generation;
        var backoff = FirstBackoff;
        while (!_stop.IsCancellationRequested)
        {
            var reaped = Reap();
            if (Volatile.Read(ref _reports.Failed) > 0 || generation != _producer.Generation)
            {
                var replaced = generation != _producer.Generation;
                await WaitForSettledReportsAsync(replaced ? KafkaProducerHost.RetireGrace + TimeSpan.FromSeconds(2) : Timeout.InfiniteTimeSpan);
                Reap();
                if (replaced && Volatile.Read(ref _reports.Pending) > 0)
                {
                    // A replaced producer that never reported: drop its slots (late reports land on
                    // objects no longer in the ring) and resend from the acknowledged position.
                    Array.Clear(_ring);
                    _reports = new Reports();
                }

                if (Volatile.Read(ref _reports.Failed) > 0)
                {
                    KafkaLog.DeliveryFailed(_logger, _topic, _kafkaTopic, _lastError ?? "unknown error", _acked.Segment, _acked.Offset, (long)backoff.TotalMilliseconds);
                }
                else
                {
                    KafkaLog.ProducerSwitched(_logger, _topic, _acked.Segment, _acked.Offset);
                }

                ResetRing();
                _readSegment = _acked.Segment;
                _readOffset = Math.Max(_acked.Offset, SegmentFile.HeaderSize);
                CloseReadHandle();
                Interlocked.Exchange(ref _reports.Failed, 0);
                generation = _producer.Generation;
                // Retry policy, not a wait for an event: the broker gets time to come back.
                await DelayAsync(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetryBackoff.Ticks));
                continue;
            }

            if (reaped)
            {
                backoff = FirstBackoff;
            }

            Persist(force: false);
            if (!Fill())
            {
                if (_finished is not null && _count == 0 && ListSegments().Count == 0)
                {
                    Persist(force: true);
                    _finished();
                    return true;
                }

                await WaitAsync(IdlePoll);
            }
        }

        return false;
    }

    /// <summary>Takes finished slots off the head of the ring. Returns true if any record was acknowledged.</summary>
    private bool Reap()
    {
        var any = false;
        long records = 0;
        long bytes = 0;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        while (_count > 0)
        {
            var slot = _ring[_head]!;
            if (Volatile.Read(ref slot.State) != Slot.Delivered)
            {
                break;
            }

            if (slot.SegmentEnd)
            {
                // Count what was acknowledged before the segment disappears, so status never lags a delete.
                CountShipped(ref records);
                _acked = new Checkpoint(slot.Segment + 1, SegmentFile.HeaderSize);
                Persist(force: true);
                Retire(slot.Segment, Path.Combine(_directory, SegmentFile.FileName(slot.Segment, SegmentFile.SealedExtension)));
            }
            else
            {
                _acked = new Checkpoint(slot.Segment, slot.EndOffset);
                if (!slot.Skipped)
                {
                    records++;
                    bytes += slot.Bytes;
                    _instruments.DeliveryLatency.Record((nowMs - slot.TimestampMs) / 1000.0, _topicTag);
                }

                _unpersistedRecords++;
            }

            _inFlightBytes -= slot.Bytes;
            _head = (_head + 1) % _ring.Length;
            _count--;
            any = true;
        }

        CountShipped(ref records);
        if (bytes > 0)
        {
            _instruments.BytesShipped.Add(bytes, _topicTag);
        }

        return any;
    }

    private void CountShipped(ref long records)
    {
        if (records > 0)
        {
            Interlocked.Add(ref _shippedRecords, records);
            _instruments.AddShipped(records, _topicTag);
            records = 0;
        }
    }

    /// <summary>Reads and sends records until the window is full or the segments hold no more. Returns true if anything was sent.</summary>
    private bool Fill()
    {
        var kafkaTopic = _kafkaTopicOf();
        if (!string.Equals(kafkaTopic, _kafkaTopic, StringComparison.Ordinal))
        {
            // The topic's Kafka topic was changed in the cluster configuration: records not yet sent go there.
            _kafkaTopic = kafkaTopic;
            _endpoint.EnsureTopic(kafkaTopic);
        }

        var progressed = false;
        var buffer = ArrayPool<byte>.Shared.Rent(ReadChunk);
        try
        {
            while (!_stop.IsCancellationRequested && HasRoom())
            {
                if (!EnsureReadHandle())
                {
                    return progressed;
                }

                var read = RandomAccess.Read(_readHandle!, buffer, _readOffset);
                var window = buffer.AsSpan(0, read);
                var consumed = 0;
                var status = FrameStatus.Incomplete;
                while (HasRoom())
                {
                    status = RecordFrame.TryRead(window[consumed..], out var record, out var size);
                    if (status != FrameStatus.Ok)
                    {
                        break;
                    }

                    if (!_window.Contains(record.TimestampMs))
                    {
                        Push(_readSegment, _readOffset + consumed + size, size, segmentEnd: false, skipped: true);
                        consumed += size;
                        progressed = true;
                        continue;
                    }

                    if (!Send(record, _readOffset + consumed + size, size))
                    {
                        _readOffset += consumed;
                        return progressed;
                    }

                    consumed += size;
                    progressed = true;
                }

                _readOffset += consumed;
                if (status == FrameStatus.Ok || consumed > 0)
                {
                    continue; // window full, or more to parse in a fresh read
                }

                // Nothing whole at the read position.
                if (status == FrameStatus.Incomplete && read == buffer.Length)
                {
                    // One frame larger than the buffer.
                    var needed = RecordFrame.HeaderSize + (int)BinaryPrimitives.ReadUInt32LittleEndian(window);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(needed);
                    continue;
                }

                if (!_readHandleSealed)
                {
                    // The writer may be mid-append; once the segment is sealed its last bytes are final.
                    if (!File.Exists(SealedPath(_readSegment)))
                    {
                        return progressed;
                    }

                    _readHandleSealed = true;
                    continue;
                }

                var length = RandomAccess.GetLength(_readHandle!);
                if (_readOffset < length)
                {
                    QuarantineTail(length);
                }

                PushSegmentEnd();
                progressed = true;
            }

            return progressed;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Room in the window: records in flight plus records acknowledged since the last checkpoint stay
    /// under <c>Kafka:MaxInFlightRecords</c> (one slot is kept for a segment's end marker).
    /// </summary>
    private bool HasRoom() =>
        _count + _unpersistedRecords < _ring.Length - 1 && _inFlightBytes < _options.MaxInFlightBytes;

    private bool Send(in RecordView record, long endOffset, int frameSize)
    {
        var message = new Message<byte[]?, byte[]>
        {
            Key = record.HasKey ? record.Key.ToArray() : null,
            Value = record.Value.ToArray(),
            Timestamp = new Timestamp(record.TimestampMs, TimestampType.CreateTime),
            Headers = [new Header("ingest-time", AsciiDigits(record.TimestampMs))],
        };
        var slot = Push(_readSegment, endOffset, frameSize, segmentEnd: false, skipped: false);
        slot.TimestampMs = record.TimestampMs;
        Interlocked.Increment(ref _reports.Pending);
        try
        {
            _producer.Producer.Produce(_kafkaTopic, message, slot.OnDelivered);
            return true;
        }
        catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
        {
            // librdkafka's own queue is full: take the slot back and try again when reports come in.
            Interlocked.Decrement(ref _reports.Pending);
            _count--;
            _inFlightBytes -= frameSize;
            return false;
        }
        catch (KafkaException e)
        {
            slot.Fail(e.Error.Reason);
            return true;
        }
    }

    /// <summary>A number as ASCII digits: one allocation, no intermediate string.</summary>
    private static byte[] AsciiDigits(long value)
    {
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(value, digits, out var written);
        return digits[..written].ToArray();
    }

    private Slot Push(long segment, long endOffset, int bytes, bool segmentEnd, bool skipped)
    {
        var index = (_head + _count) % _ring.Length;
        var slot = _ring[index] ??= new Slot(this);
        slot.Segment = segment;
        slot.EndOffset = endOffset;
        slot.Bytes = bytes;
        slot.SegmentEnd = segmentEnd;
        slot.Skipped = skipped;
        slot.Epoch = _reports;
        Volatile.Write(ref slot.State, segmentEnd || skipped ? Slot.Delivered : Slot.Pending);
        _count++;
        _inFlightBytes += bytes;
        return slot;
    }

    private void PushSegmentEnd()
    {
        Push(_readSegment, _readOffset, 0, segmentEnd: true, skipped: false);
        CloseReadHandle();
        _readSegment++;
        _readOffset = SegmentFile.HeaderSize;
    }

    private bool EnsureReadHandle()
    {
        if (_readHandle is not null && _readHandleSegment == _readSegment)
        {
            return true;
        }

        CloseReadHandle();
        foreach (var (sequence, path) in ListSegments())
        {
            if (sequence < _readSegment)
            {
                continue;
            }

            if (sequence > _readSegment)
            {
                _readSegment = sequence;
                _readOffset = SegmentFile.HeaderSize;
            }

            try
            {
                _readHandle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException)
            {
                // Renamed from .active to .seg between the listing and the open: look again next time.
                return false;
            }

            _readHandleSegment = sequence;
            _readHandleSealed = path.EndsWith(SegmentFile.SealedExtension, StringComparison.Ordinal);
            _readOffset = Math.Max(_readOffset, SegmentFile.HeaderSize);
            return true;
        }

        return false;
    }

    private void QuarantineTail(long length)
    {
        var path = SealedPath(_readSegment);
        var quarantine = $"{path}{SegmentFile.QuarantineMarker}{_readOffset}";
        SegmentRecovery.CopyRange(_readHandle!, _readOffset, length, quarantine);
        KafkaLog.SealedSegmentCorrupt(_logger, _topic, path, _readOffset, length - _readOffset, quarantine);
    }

    private void Retire(long sequence, string path)
    {
        if (_retire(path))
        {
            KafkaLog.SegmentShipped(_logger, _topic, SegmentFile.FileName(sequence, SegmentFile.SealedExtension));
        }
    }

    private void Persist(bool force)
    {
        if (_acked.CompareTo(_persisted) <= 0)
        {
            return;
        }

        // Acknowledged but not yet persisted records would be sent again after a crash, so they count
        // against the window too: persisting at half the window keeps duplicates within it.
        if (!force && _time.GetElapsedTime(_persistedAt) < _options.CheckpointInterval && _unpersistedRecords < _ring.Length / 2)
        {
            return;
        }

        _acked.Save(_directory, _fsync);
        _persisted = _acked;
        _unpersistedRecords = 0;
        _persistedAt = _time.GetTimestamp();
    }

    private List<(long Sequence, string Path)> ListSegments()
    {
        var segments = new List<(long, string)>();
        if (!Directory.Exists(_directory))
        {
            return segments;
        }

        foreach (var path in Directory.EnumerateFiles(_directory))
        {
            var sequence = SegmentFile.SequenceOf(path);
            if (sequence >= 0)
            {
                segments.Add((sequence, path));
            }
        }

        segments.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return segments;
    }

    private string SealedPath(long sequence) => Path.Combine(_directory, SegmentFile.FileName(sequence, SegmentFile.SealedExtension));

    private void ResetRing()
    {
        _head = 0;
        _count = 0;
        _inFlightBytes = 0;
    }

    private void CloseReadHandle()
    {
        _readHandle?.Dispose();
        _readHandle = null;
        _readHandleSegment = -1;
        _readHandleSealed = false;
    }

    private async Task WaitForSettledReportsAsync(TimeSpan limit)
    {
        var started = _time.GetTimestamp();
        while (Volatile.Read(ref _reports.Pending) > 0 && !_stop.IsCancellationRequested
            && (limit == Timeout.InfiniteTimeSpan || _time.GetElapsedTime(started) < limit))
        {
            await WaitAsync(TimeSpan.FromMilliseconds(100));
        }
    }

    private async Task WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _wake.WaitAsync(timeout, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DelayAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops reading, gives reports in flight up to <paramref name="grace"/> to arrive, and persists the checkpoint.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        var deadline = _time.GetTimestamp();
        while (Volatile.Read(ref _reports.Pending) > 0 && _time.GetElapsedTime(deadline) < grace)
        {
            await WaitAsync(TimeSpan.FromMilliseconds(50));
        }

        _stop.Cancel();
        await _loop;
        Reap();
        Persist(force: true);
    }

    /// <summary>
    /// Stops the loop. The semaphore and token source are left to the GC on purpose: delivery reports
    /// of records still inside librdkafka may call <see cref="Wake"/> after this returns.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        await _loop;
    }

    /// <summary>One record (or a segment's end) in flight. Reused; its callback delegate is built once.</summary>
    private sealed class Slot
    {
        public const int Pending = 0;
        public const int Delivered = 1;
        public const int Failed = 2;

        private readonly TopicShipper _owner;

        public Slot(TopicShipper owner)
        {
            _owner = owner;
            OnDelivered = Report;
        }

        public long Segment;
        public long EndOffset;
        public int Bytes;
        public bool SegmentEnd;
        public bool Skipped;
        public long TimestampMs;
        public int State;

        /// <summary>The report counters of the ring this slot was sent in.</summary>
        public Reports Epoch = null!;

        public Action<DeliveryReport<byte[]?, byte[]>> OnDelivered { get; }

        public void Fail(string reason)
        {
            _owner._lastError = reason;
            Volatile.Write(ref State, Failed);
            Interlocked.Increment(ref Epoch.Failed);
            Interlocked.Decrement(ref Epoch.Pending);
            _owner._instruments.DeliveryErrors.Add(1, _owner._topicTag);
            _owner.Wake();
        }

        private void Report(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Fail(report.Error.Reason);
                return;
            }

            Volatile.Write(ref State, Delivered);
            Interlocked.Decrement(ref Epoch.Pending);
            _owner.Wake();
        }
    }
}

/// <summary>Delivery reports outstanding and failed, for the records sent since the ring was last dropped.</summary>
internal sealed class Reports
{
    public int Pending;
    public int Failed;
}

/// <summary>The record times a shipper sends: [FromMs, ToMs). The default window holds every record.</summary>
internal readonly record struct ShipWindow(long FromMs, long ToMs)
{
    public bool Contains(long timestampMs) => (FromMs == 0 && ToMs == 0) || (timestampMs >= FromMs && timestampMs < ToMs);
}
