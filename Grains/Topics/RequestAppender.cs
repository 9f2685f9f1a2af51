using System.Text;
using Ingest.Archive;
using Ingest.Diagnostics;
using Ingest.Records;
using Ingest.Segments;
using Microsoft.Extensions.Logging;

namespace Ingest.Topics;

/// <summary>
/// Appends a batch whose requests need answers of their own: an <c>Idempotency-Key</c> (see <see cref="RememberedKeys"/>),
/// or a durability level other than the silo's (<c>?durability=</c>).
/// <list type="bullet">
/// <item>Each keyed request is claimed first: one whose key was used within the window is left out of the write and
/// answered with the first request's answer (waiting for it if that request is still being stored).</item>
/// <item>The rest are written as one append; <see cref="DurabilityLevel.Fsync"/> makes its commit fsync.</item>
/// <item>With <see cref="DurabilityLevel.Kafka"/>, each request then waits (at most <c>Ingest:KafkaAckWait</c>) for Kafka's
/// acknowledgement of its records; its answer says the level it reached, and for one record where Kafka put it.</item>
/// </list>
/// A key remembers the final answer. After a restart, the keys of the window are read back from the topic's segments
/// (their records carry the key as a frame header).
/// </summary>
internal sealed partial class RequestAppender(
    RememberedKeys window,
    Forwarding.IKafkaAcks acks,
    Storage.SegmentStore store,
    Microsoft.Extensions.Options.IOptions<Options.IngestOptions> options,
    IngestInstruments instruments,
    ILogger<RequestAppender> logger)
{
    private readonly TimeSpan _kafkaAckWait = options.Value.KafkaAckWait;

    public async ValueTask<AppendResult> AppendAsync(string topic, TopicWriter writer, AppendBatch batch)
    {
        if (batch.Level == DurabilityLevel.Kafka && !acks.IsForwarding)
        {
            return new AppendResult(AppendStatus.LevelUnavailable, "durability=kafka was asked of a node that does not forward to Kafka (Kafka:Enabled=false)");
        }

        var marks = batch.Requests ?? [];
        var claimed = new RememberedKeys.Entry?[marks.Length];
        var earlier = new Task<RequestAnswer>?[marks.Length];
        var left = 0;
        var leftRecords = 0;
        for (var i = 0; i < marks.Length; i++)
        {
            if (marks[i].Scope is not { } scope)
            {
                continue;
            }

            if (window.Claim(topic, scope, out var entry) is { } first)
            {
                earlier[i] = first.Answered;
                left++;
                leftRecords += marks[i].Records;
            }
            else
            {
                claimed[i] = entry;
            }
        }

        var result = AppendResult.Appended;
        var placed = new TopicWriter.Placed(result, -1, -1);
        var starts = marks.Select(m => m.FrameStart).ToArray();
        if (batch.RecordCount > leftRecords)
        {
            var toWrite = left == 0 ? batch : Without(batch, earlier, batch.RecordCount - leftRecords, starts);
            placed = await writer.AppendPlaced(toWrite, fsync: batch.Level == DurabilityLevel.Fsync);
            result = placed.Result;
        }

        var answers = new RequestAnswer[marks.Length];
        for (var i = 0; i < marks.Length; i++)
        {
            if (earlier[i] is null)
            {
                answers[i] = new RequestAnswer(result.Status, marks[i].Records, Replayed: false, result.Detail, result.Level);
            }
        }

        if (batch.Level == DurabilityLevel.Kafka && result.Status == AppendStatus.Appended && placed.Segment >= 0)
        {
            await AwaitKafkaAsync(topic, placed, marks, starts, earlier, answers);
        }

        for (var i = 0; i < marks.Length; i++)
        {
            if (claimed[i] is { } entry)
            {
                window.Settle(topic, marks[i].Scope!, entry, answers[i]);
            }
        }

        // Only after this batch settled its own keys: a repeat inside the batch waits for the first one in it.
        for (var i = 0; i < marks.Length; i++)
        {
            if (earlier[i] is { } first)
            {
                var answer = await first;
                answers[i] = answer with { Replayed = answer.Status == AppendStatus.Appended };
                if (answers[i].Replayed)
                {
                    instruments.IdempotentReplays.Add(1);
                }
            }
        }

        return result with { Answers = answers };
    }

    /// <summary>Waits for Kafka's acknowledgement of each written request; those acknowledged in time reach <see cref="DurabilityLevel.Kafka"/>.</summary>
    private async Task AwaitKafkaAsync(string topic, TopicWriter.Placed placed, RequestMark[] marks, int[] starts, Task<RequestAnswer>?[] earlier, RequestAnswer[] answers)
    {
        var waits = new Task<Forwarding.KafkaAck>?[marks.Length];
        for (var i = 0; i < marks.Length; i++)
        {
            if (earlier[i] is null)
            {
                waits[i] = acks.WhenAcked(topic, placed.Segment, placed.Start + starts[i] + marks[i].FrameLength);
            }
        }

        try
        {
            await Task.WhenAll(waits.OfType<Task<Forwarding.KafkaAck>>()).WaitAsync(_kafkaAckWait);
        }
        catch (TimeoutException)
        {
            // Not all acknowledged in time: those are answered with the disk's level, and ship as any record.
        }

        for (var i = 0; i < marks.Length; i++)
        {
            if (waits[i] is not { } wait)
            {
                continue;
            }

            if (wait.IsCompletedSuccessfully)
            {
                var ack = wait.Result;
                answers[i] = marks[i].Records == 1 && ack.Partition >= 0
                    ? answers[i] with { Level = DurabilityLevel.Kafka, Partition = ack.Partition, Offset = ack.Offset }
                    : answers[i] with { Level = DurabilityLevel.Kafka };
            }
            else
            {
                acks.Forget(topic, wait);
            }
        }
    }

    /// <summary>The batch without the frames of the requests that repeat an earlier one; <paramref name="starts"/> become the kept requests' offsets in it.</summary>
    private static AppendBatch Without(AppendBatch batch, Task<RequestAnswer>?[] repeats, int records, int[] starts)
    {
        var marks = batch.Requests!;
        var frames = batch.Frames.Span;
        var kept = new byte[frames.Length - marks.Where((_, i) => repeats[i] is not null).Sum(m => m.FrameLength)];
        int from = 0, to = 0;
        for (var i = 0; i < marks.Length; i++)
        {
            frames[from..marks[i].FrameStart].CopyTo(kept.AsSpan(to));
            to += marks[i].FrameStart - from;
            from = marks[i].FrameStart;
            if (repeats[i] is not null)
            {
                starts[i] = -1;
                from += marks[i].FrameLength;
                continue;
            }

            starts[i] = to;
            frames.Slice(from, marks[i].FrameLength).CopyTo(kept.AsSpan(to));
            to += marks[i].FrameLength;
            from += marks[i].FrameLength;
        }

        frames[from..].CopyTo(kept.AsSpan(to));
        return new AppendBatch(kept, records, null, batch.Level);
    }

    /// <summary>
    /// Once per topic and process, before its first append: the keys of requests stored within the window,
    /// read from the topic's segments on this silo (open, sealed and archived). Costs a read of what the topic
    /// stored in the last window.
    /// </summary>
    public void RecoverOnce(string topic, string topicDirectory)
    {
        if (!window.NeedsRecovery(topic))
        {
            return;
        }

        var since = window.OldestKeptMs;
        var sinceTime = DateTimeOffset.FromUnixTimeMilliseconds(since).UtcDateTime;
        // The topic's own directory, and its directory in the archive of each day the window touches.
        var directories = new List<string> { topicDirectory };
        for (var day = sinceTime.Date; day <= DateTimeOffset.FromUnixTimeMilliseconds(window.NowMs).UtcDateTime.Date; day = day.AddDays(1))
        {
            directories.Add(Path.Combine(store.Root, Storage.SegmentStore.ArchiveDirectoryName, SegmentArchive.DayOf(new DateTimeOffset(day, TimeSpan.Zero).ToUnixTimeMilliseconds()), Path.GetFileName(topicDirectory)));
        }

        var files = directories
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles)
            .Where(f => (f.EndsWith(SegmentFile.SealedExtension, StringComparison.Ordinal) || f.EndsWith(SegmentFile.ActiveExtension, StringComparison.Ordinal))
                && File.GetLastWriteTimeUtc(f) >= sinceTime)
            .ToList();

        // One request's records share their key and their ingest time: count the first such run per key.
        var found = new Dictionary<string, (int Records, long StoredAtMs)>(StringComparer.Ordinal);
        var scanned = 0;
        foreach (var file in files)
        {
            try
            {
                SegmentReader.Scan(file, (in RecordView record, long _) =>
                {
                    if (record.TimestampMs < since || record.Headers.IsEmpty || !record.Headers.TryGet(FrameHeaders.IdempotencyKeyUtf8, out var key))
                    {
                        return;
                    }

                    record.Headers.TryGet(FrameHeaders.ProducerUtf8, out var producer);
                    var scope = Encoding.UTF8.GetString(producer) + "\n" + Encoding.UTF8.GetString(key);
                    if (!found.TryGetValue(scope, out var seen))
                    {
                        found[scope] = (1, record.TimestampMs);
                    }
                    else if (seen.StoredAtMs == record.TimestampMs)
                    {
                        found[scope] = (seen.Records + 1, seen.StoredAtMs);
                    }
                });
                scanned++;
            }
            catch (IOException)
            {
                // Moved to the archive (or evicted) while listed: its keys are read from where it went, or are gone with it.
            }
        }

        foreach (var (scope, (records, storedAtMs)) in found)
        {
            window.Recovered(topic, scope, records, storedAtMs);
        }

        if (found.Count > 0)
        {
            Recovered(logger, found.Count, topic, scanned);
        }
    }

    [LoggerMessage(EventId = (int)IngestEventCode.IdempotencyKeysRecovered, Level = LogLevel.Information, Message = "Recovered {Keys} idempotency keys of topic {Topic} from {Segments} segments written within the window")]
    private static partial void Recovered(ILogger logger, int keys, string topic, int segments);
}
