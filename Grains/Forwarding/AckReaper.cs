using Ingest.Kafka;
using Ingest.Segments;

namespace Ingest.Forwarding;

/// <summary>
/// What happens to a topic log's records once Kafka acknowledged them, in window order: the checkpoint moves over
/// them, the audit counts them, <c>durability=kafka</c> requests waiting for them are answered, and a sealed segment
/// whose end was acknowledged is retired (deleted, or archived when the topic keeps its segments). A segment is retired
/// only after a checkpoint past it is on disk, so nothing Kafka has not acknowledged is deleted, and a crash in
/// between finds the segment below the checkpoint and retires it then (<see cref="RetireBelow"/>).
/// </summary>
internal sealed class AckReaper(string topic, AckWindow window, Checkpointer checkpoint, TopicProgress progress, KnownSegments segments, Func<string, bool> retire, ShippingContext context)
{
    /// <summary>Takes the acknowledged prefix off the window; true when anything was taken (a delivery succeeded).</summary>
    public bool Reap(string kafkaTopic)
    {
        var nowMs = context.Time.GetUtcNow().ToUnixTimeMilliseconds();
        long records = 0;
        long bytes = 0;
        long acknowledgedBytes = 0;
        var any = false;
        var trace = default(DeliveryTrace);
        var acks = progress.Audit?.BeginAcks();
        while (window.TryReap(out var entry))
        {
            any = true;
            if (!entry.Skipped)
            {
                acknowledgedBytes += entry.Bytes;
            }

            if (entry.SegmentEnd)
            {
                // Count what was acknowledged before the segment disappears, so status never lags a retirement;
                // the audit takes its count first, as it is written before the checkpoint below.
                if (acks is not null)
                {
                    progress.Audit!.EndAcks(acks);
                    acks = progress.Audit.BeginAcks();
                }

                progress.Shipped(records, bytes);
                checkpoint.Advance(new Checkpoint(entry.Segment + 1, SegmentFile.HeaderSize), 0);
                context.Budget.ReleaseRecords(checkpoint.Persist(force: true));
                Retire(entry.Segment);
                records = bytes = 0;
                continue;
            }

            checkpoint.Advance(new Checkpoint(entry.Segment, entry.EndOffset), entry.Skipped ? 0 : 1);
            if (!entry.Skipped)
            {
                if (progress.Waiters.Any)
                {
                    progress.Waiters.Delivered(entry.Segment, entry.EndOffset, entry.Partition, entry.KafkaOffset);
                }

                trace.Add(entry);
                acks?.Add(entry.Segment, entry.EndOffset, entry.TimestampMs, entry.Partition, entry.KafkaOffset);
                records++;
                bytes += entry.Bytes;
                context.Instruments.DeliveryLatency.Record((nowMs - entry.TimestampMs) / 1000.0, progress.TopicTag);
            }
        }

        if (acks is not null)
        {
            progress.Audit!.EndAcks(acks);
        }

        progress.Shipped(records, bytes);
        context.Budget.ReleaseBytes(acknowledgedBytes);
        trace.Emit(topic, kafkaTopic, context.Time.GetUtcNow());
        return any;
    }

    /// <summary>At a start: the sealed segments below a saved checkpoint were shipped (a crash came between the checkpoint and their retirement).</summary>
    public void RetireBelow(long checkpointSegment)
    {
        foreach (var sequence in segments.SealedBelow(checkpointSegment))
        {
            Retire(sequence);
        }
    }

    private void Retire(long sequence)
    {
        if (retire(segments.PathOf(sequence, sealedFile: true)))
        {
            segments.Retired(sequence);
            KafkaLog.SegmentShipped(context.Logger, topic, SegmentFile.FileName(sequence, SegmentFile.SealedExtension));
        }
    }
}
