using Confluent.Kafka;
using Ingest.Configuration;
using Ingest.Kafka;
using Ingest.Topics;

namespace Ingest.Audit;

/// <summary>
/// <c>audit verify</c>: reads the Kafka topic of a topic back, from the first offset of each partition at or
/// after the window's start (by timestamp, which is the ingest time) to the high watermark seen after the
/// audit was read, and counts per hour of the <c>ingest-time</c> header the distinct <c>ingest-id</c>s and the
/// copies. A record acknowledged before the audit was read is below that watermark, so whatever is not found
/// was lost after Kafka acknowledged it (retention, an unclean leader election, a deleted topic).
/// Holds one id per record of the window in memory while it reads.
/// </summary>
internal sealed class AuditVerifier(KafkaEndpoint endpoint, LiveConfig config) : IAuditVerifier
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);

    /// <exception cref="InvalidOperationException">Kafka could not be read (or has no such topic).</exception>
    public Task<AuditVerification> VerifyAsync(string topic, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<AuditHour> audit, CancellationToken cancellation) =>
        Task.Run(
            () =>
            {
                try
                {
                    return Verify(topic, from, to, audit, cancellation);
                }
                catch (KafkaException e)
                {
                    throw new InvalidOperationException("Kafka: " + e.Error.Reason, e);
                }
            },
            cancellation);

    private AuditVerification Verify(string topic, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<AuditHour> audit, CancellationToken cancellation)
    {
        var settings = config.Current.Kafka;
        var kafkaTopic = config.Current.KafkaTopicFor(topic);
        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = endpoint.BootstrapServersFor(settings),
            GroupId = "ingest-audit-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest, // an offset evicted while reading: go on from the oldest kept
            ClientId = "ingest-audit",
        };
        foreach (var (key, value) in settings.ProducerSettings)
        {
            if (key.StartsWith("security.", StringComparison.Ordinal) || key.StartsWith("sasl.", StringComparison.Ordinal) || key.StartsWith("ssl.", StringComparison.Ordinal))
            {
                consumerConfig.Set(key, value); // how to reach the brokers, not how to produce
            }
        }

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(consumerConfig).SetLogHandler((_, _) => { }).Build();
        var partitions = PartitionsOf(consumer, kafkaTopic);
        var fromMs = from.ToUnixTimeMilliseconds();
        var toMs = to.ToUnixTimeMilliseconds();
        var starts = consumer.OffsetsForTimes(partitions.Select(p => new TopicPartitionTimestamp(p, new Timestamp(fromMs, TimestampType.CreateTime))), MetadataTimeout);
        var ends = new Dictionary<int, long>();
        var assignment = new List<TopicPartitionOffset>();
        foreach (var start in starts)
        {
            var marks = consumer.QueryWatermarkOffsets(start.TopicPartition, MetadataTimeout);
            // No offset for the time (none so late, or a broker without a time index, as the development broker): the whole partition.
            var first = start.Offset.Value < 0 ? marks.Low.Value : Math.Max(start.Offset.Value, marks.Low.Value);
            if (first < marks.High.Value)
            {
                ends[start.Partition.Value] = marks.High.Value;
                assignment.Add(new TopicPartitionOffset(start.TopicPartition, new Offset(first)));
            }
        }

        var tally = new Dictionary<long, HourTally>();
        long read = 0;
        consumer.Assign(assignment);
        while (ends.Count > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromSeconds(1));
            if (result is null)
            {
                continue;
            }

            var partition = result.Partition.Value;
            if (!ends.TryGetValue(partition, out var end))
            {
                continue; // read to its end already: what came after the audit is not counted
            }

            if (result.IsPartitionEOF || result.Offset.Value >= end)
            {
                ends.Remove(partition);
                continue;
            }

            read++;
            Count(result.Message, fromMs, toMs, tally);
            if (result.Offset.Value + 1 >= end)
            {
                ends.Remove(partition);
            }
        }

        consumer.Close();
        return new AuditVerification(topic, kafkaTopic, from, to, Compare(audit, tally, fromMs, toMs), read);
    }

    /// <summary>The topic's partitions, asked through the consumer's own connection (no second client).</summary>
    private static List<TopicPartition> PartitionsOf(IConsumer<Ignore, Ignore> consumer, string kafkaTopic)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(kafkaTopic, MetadataTimeout).Topics.FirstOrDefault(t => t.Topic == kafkaTopic);
        if (metadata is null || metadata.Error.IsError)
        {
            throw new InvalidOperationException($"Kafka has no topic '{kafkaTopic}'{(metadata is null ? string.Empty : ": " + metadata.Error.Reason)}.");
        }

        return [.. metadata.Partitions.Select(p => new TopicPartition(kafkaTopic, new Partition(p.PartitionId)))];
    }

    private static void Count(Message<Ignore, Ignore> message, long fromMs, long toMs, Dictionary<long, HourTally> tally)
    {
        var ingestTime = message.Timestamp.UnixTimestampMs;
        string? id = null;
        foreach (var header in message.Headers ?? [])
        {
            if (header.Key == KafkaHeaders.IngestTime && header.GetValueBytes() is var digits
                && System.Buffers.Text.Utf8Parser.TryParse(digits, out long stamped, out var used) && used == digits.Length)
            {
                ingestTime = stamped;
            }
            else if (header.Key == KafkaHeaders.IngestId)
            {
                id = System.Text.Encoding.ASCII.GetString(header.GetValueBytes());
            }
        }

        if (ingestTime < fromMs || ingestTime >= toMs)
        {
            return;
        }

        var hour = AuditClock.HourOf(ingestTime);
        if (!tally.TryGetValue(hour, out var counts))
        {
            tally[hour] = counts = new HourTally();
        }

        counts.Messages++;
        if (id is null)
        {
            counts.Unidentified++;
        }
        else
        {
            counts.Ids.Add(id);
        }
    }

    private static List<VerifiedHour> Compare(IReadOnlyList<AuditHour> audit, Dictionary<long, HourTally> tally, long fromMs, long toMs)
    {
        var byHour = audit.ToDictionary(h => AuditClock.HourOf(h.HourMs));
        var hours = new List<VerifiedHour>();
        foreach (var hour in byHour.Keys.Union(tally.Keys).Where(h => h * AuditClock.HourMs < toMs && (h + 1) * AuditClock.HourMs > fromMs).Order())
        {
            byHour.TryGetValue(hour, out var counted);
            tally.TryGetValue(hour, out var found);
            var distinct = found?.Ids.Count ?? 0;
            var acked = counted?.Acked ?? 0;
            hours.Add(new VerifiedHour(
                DateTimeOffset.FromUnixTimeMilliseconds(hour * AuditClock.HourMs),
                counted?.Accepted ?? 0,
                counted?.Stored ?? 0,
                acked,
                counted?.Pending ?? 0,
                distinct,
                Math.Max(0, acked - distinct),
                found is null ? 0 : found.Messages - found.Unidentified - distinct,
                found?.Unidentified ?? 0));
        }

        return hours;
    }

    private sealed class HourTally
    {
        public long Messages;
        public long Unidentified;
        public HashSet<string> Ids { get; } = new(StringComparer.Ordinal);
    }
}
