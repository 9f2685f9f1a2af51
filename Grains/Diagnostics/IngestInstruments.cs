using System.Diagnostics.Metrics;

namespace Ingest.Diagnostics;

/// <summary>Storage-side instruments (meter <c>Ingest</c>). Tag names are constants so queries stay stable.</summary>
internal sealed class IngestInstruments
{
    public const string MeterName = "Ingest";
    public const string TopicTag = "topic";
    public const string OutcomeTag = "outcome";
    public const string ReasonTag = "reason";

    public IngestInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        RecordsAppended = meter.CreateCounter<long>("ingest.records.appended", "{record}", "Records written to a segment with the configured durability.");
        BytesAppended = meter.CreateCounter<long>("ingest.bytes.appended", "By", "Framed bytes written to segments.");
        GroupCommits = meter.CreateCounter<long>("ingest.group_commits", "{commit}", "Writes (and flushes) that each committed one or more appends.");
        AppendsRefused = meter.CreateCounter<long>("ingest.appends.refused", "{append}", "Appends answered with anything but Appended, by outcome.");
        RecoveryCuts = meter.CreateCounter<long>("ingest.segments.recovery_cuts", "{segment}", "Segments whose tail recovery truncated (torn) or quarantined (corrupt).");
        SegmentsSealed = meter.CreateCounter<long>("ingest.segments.sealed", "{segment}", "Segments sealed, by reason (size, age, day change, disk full, write failed, deactivation).");
        RotationChecks = meter.CreateCounter<long>("ingest.rotation.reminder_ticks", "{tick}", "Rotation reminder ticks handled by topic grains (each checks its topic's segment age and day).");
        SegmentsArchived = meter.CreateCounter<long>("ingest.segments.archived", "{segment}", "Fully shipped segments moved to the archive.");
        ArchiveDeletions = meter.CreateCounter<long>("ingest.archive.deleted", "{segment}", "Archived segments deleted, by reason (retention, disk budget).");
        meter.CreateObservableGauge("ingest.archive.bytes", () => ArchiveBytes, "By", "Bytes held in the archive for replay.");
        SegmentsDeleted = meter.CreateCounter<long>("ingest.segments.deleted", "{segment}", "Shipped segments deleted at once (Ingest:RetentionDays=0) or replay copies finished.");
        RecordsShipped = meter.CreateCounter<long>("ingest.records.shipped", "{record}", "Records acknowledged by Kafka.");
        DeliveryErrors = meter.CreateCounter<long>("ingest.kafka.delivery_errors", "{record}", "Delivery reports with an error (each is retried from the checkpoint).");
        meter.CreateObservableCounter("ingest.kafka.messages_transmitted", () => MessagesTransmitted, "{message}",
            "Messages sent to brokers, retransmissions included (librdkafka statistics); minus ingest.records.shipped, it counts retries.");
    }

    private long _transmittedBase;
    private long _transmittedCurrent;
    private long _shippedTotal;

    /// <summary>Messages librdkafka transmitted, retransmissions included, across producer rebuilds.</summary>
    public long MessagesTransmitted => Volatile.Read(ref _transmittedBase) + Volatile.Read(ref _transmittedCurrent);

    /// <summary>Records acknowledged by Kafka in this process, all topics.</summary>
    public long ShippedTotal => Volatile.Read(ref _shippedTotal);

    public void AddShipped(long records, KeyValuePair<string, object?> topicTag)
    {
        Interlocked.Add(ref _shippedTotal, records);
        RecordsShipped.Add(records, topicTag);
    }

    /// <summary>Reads librdkafka's statistics JSON (once a second) for the totals only it knows.</summary>
    public void RecordProducerStatistics(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        if (document.RootElement.TryGetProperty("txmsgs", out var transmitted))
        {
            var value = transmitted.GetInt64();
            if (value < Volatile.Read(ref _transmittedCurrent))
            {
                // A rebuilt producer starts from zero: keep the total monotonic.
                Interlocked.Add(ref _transmittedBase, Volatile.Read(ref _transmittedCurrent));
            }

            Volatile.Write(ref _transmittedCurrent, value);
        }
    }

    public Counter<long> SegmentsDeleted { get; }

    public Counter<long> SegmentsArchived { get; }

    public Counter<long> RotationChecks { get; }

    public Counter<long> ArchiveDeletions { get; }

    /// <summary>Set by the archive whenever it changes.</summary>
    public long ArchiveBytes { get; set; }

    public Counter<long> RecordsShipped { get; }

    public Counter<long> DeliveryErrors { get; }

    public Counter<long> RecordsAppended { get; }

    public Counter<long> BytesAppended { get; }

    public Counter<long> GroupCommits { get; }

    public Counter<long> AppendsRefused { get; }

    public Counter<long> RecoveryCuts { get; }

    public Counter<long> SegmentsSealed { get; }
}
