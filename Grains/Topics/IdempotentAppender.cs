using System.Text;
using Ingest.Archive;
using Ingest.Diagnostics;
using Ingest.Records;
using Ingest.Segments;
using Microsoft.Extensions.Logging;

namespace Ingest.Topics;

/// <summary>
/// Appends a batch some of whose requests carry an <c>Idempotency-Key</c> (see <see cref="RememberedKeys"/>).
/// Each keyed request is claimed first: a request whose key was used within the window is left out of the
/// write and answered with the first request's answer (waiting for it if that request is still being stored);
/// the rest are written as one append, and their keys remember its answer. After a restart, the keys of the
/// window are read back from the topic's segments (their records carry the key as a frame header).
/// </summary>
internal sealed partial class IdempotentAppender(RememberedKeys window, Storage.SegmentStore store, IngestInstruments instruments, ILogger<IdempotentAppender> logger)
{
    // FrameHeaders.IdempotencyKey and FrameHeaders.Producer, as bytes.
    private static ReadOnlySpan<byte> KeyHeaderBytes => "idempotency-key"u8;

    private static ReadOnlySpan<byte> ProducerHeaderBytes => "ingest-producer"u8;

    public async ValueTask<AppendResult> AppendAsync(string topic, TopicWriter writer, AppendBatch batch)
    {
        var marks = batch.Requests!;
        var claimed = new RememberedKeys.Entry?[marks.Length];
        var earlier = new Task<RequestAnswer>?[marks.Length];
        var left = 0;
        var leftRecords = 0;
        for (var i = 0; i < marks.Length; i++)
        {
            if (window.Claim(topic, marks[i].Scope, out var entry) is { } first)
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
        if (batch.RecordCount > leftRecords)
        {
            result = await writer.Append(left == 0 ? batch : Without(batch, earlier, batch.RecordCount - leftRecords));
        }

        var answers = new RequestAnswer[marks.Length];
        for (var i = 0; i < marks.Length; i++)
        {
            if (claimed[i] is { } entry)
            {
                answers[i] = new RequestAnswer(result.Status, marks[i].Records, Replayed: false, result.Detail);
                window.Settle(topic, marks[i].Scope, entry, answers[i]);
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

    /// <summary>The batch without the frames of the requests that repeat an earlier one.</summary>
    private static AppendBatch Without(AppendBatch batch, Task<RequestAnswer>?[] repeats, int records)
    {
        var marks = batch.Requests!;
        var frames = batch.Frames.Span;
        var kept = new byte[frames.Length - marks.Where((_, i) => repeats[i] is not null).Sum(m => m.FrameLength)];
        int from = 0, to = 0;
        for (var i = 0; i < marks.Length; i++)
        {
            if (repeats[i] is null)
            {
                continue;
            }

            frames[from..marks[i].FrameStart].CopyTo(kept.AsSpan(to));
            to += marks[i].FrameStart - from;
            from = marks[i].FrameStart + marks[i].FrameLength;
        }

        frames[from..].CopyTo(kept.AsSpan(to));
        return new AppendBatch(kept, records);
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
        for (var day = sinceTime.Date; day <= DateTime.UtcNow.Date; day = day.AddDays(1))
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
                    if (record.TimestampMs < since || record.Headers.IsEmpty || !record.Headers.TryGet(KeyHeaderBytes, out var key))
                    {
                        return;
                    }

                    record.Headers.TryGet(ProducerHeaderBytes, out var producer);
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
