using System.Diagnostics.Metrics;

namespace Ingest.Diagnostics;

/// <summary>Storage-side instruments (meter <c>Ingest</c>). Tag names are constants so queries stay stable.</summary>
internal sealed class IngestInstruments
{
    public const string MeterName = "Ingest";
    public const string TopicTag = TopicLabels.Name;
    public const string OutcomeTag = "outcome";
    public const string ReasonTag = "reason";

    private readonly TopicLabels _labels;
    private readonly IDiskUsage _budget;
    private readonly TimeProvider _time;
    private Func<IEnumerable<Topics.TopicForwardingStatus>> _topics = () => [];

    public IngestInstruments(IMeterFactory meterFactory, TopicLabels labels, IDiskUsage budget, TimeProvider time)
    {
        _labels = labels;
        _budget = budget;
        _time = time;
        var meter = meterFactory.Create(MeterName);
        RecordsAppended = meter.CreateCounter<long>("ingest.records.appended", "{record}", "Records written to a segment with the configured durability.");
        BytesAppended = meter.CreateCounter<long>("ingest.bytes.appended", "By", "Framed bytes written to segments.");
        GroupCommits = meter.CreateCounter<long>("ingest.group_commits", "{commit}", "Writes (and flushes) that each committed one or more appends.");
        CommitDuration = meter.CreateHistogram("ingest.commit.duration", "s",
            "A group commit's write to the segment, and its fsync when one is asked for (sync: true): the disk's share of an answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
        AppendsRefused = meter.CreateCounter<long>("ingest.appends.refused", "{append}", "Appends answered with anything but Appended, by outcome.");
        RecoveryCuts = meter.CreateCounter<long>("ingest.segments.recovery_cuts", "{segment}", "Segments whose tail recovery truncated (torn) or quarantined (corrupt).");
        SegmentsSealed = meter.CreateCounter<long>("ingest.segments.sealed", "{segment}", "Segments sealed, by reason (size, age, day change, disk full, write failed, deactivation).");
        RotationChecks = meter.CreateCounter<long>("ingest.rotation.reminder_ticks", "{tick}", "Rotation reminder ticks handled by topic grains (each checks its topic's segment age and day).");
        SegmentsArchived = meter.CreateCounter<long>("ingest.segments.archived", "{segment}", "Fully shipped segments moved to the archive.");
        ArchiveDeletions = meter.CreateCounter<long>("ingest.archive.deleted", "{segment}", "Archived segments deleted, by reason (retention, disk budget).");
        meter.CreateObservableGauge("ingest.archive.bytes", () => ArchiveBytes, "By", "Bytes held in the archive for replay.");
        SegmentsDeleted = meter.CreateCounter<long>("ingest.segments.deleted", "{segment}", "Shipped segments deleted at once (Ingest:RetentionDays=0) or replay copies finished.");
        RecordsShipped = meter.CreateCounter<long>("ingest.records.shipped", "{record}", "Records acknowledged by Kafka.");
        BytesShipped = meter.CreateCounter<long>("ingest.bytes.shipped", "By", "Framed bytes of the records acknowledged by Kafka.");
        DeliveryLatency = meter.CreateHistogram("ingest.kafka.delivery.duration", "s", "From a record's ingest time (its 202) to Kafka's acknowledgement.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });
        meter.CreateObservableGauge("ingest.backlog.records", () => SumPerTopic(s => s.BacklogRecords), "{record}", "Records on this silo's disk not yet acknowledged by Kafka.");
        meter.CreateObservableGauge("ingest.backlog.bytes", () => SumPerTopic(s => s.UnshippedBytes), "By", "Bytes on this silo's disk not yet acknowledged by Kafka.");
        meter.CreateObservableGauge("ingest.backlog.oldest_age", () => OldestAge(), "s", "Age of the oldest record on this silo not yet acknowledged by Kafka (0 when none).");
        meter.CreateObservableGauge("ingest.disk.used", () => _budget.UsedBytes, "By", "Bytes in the data directory (segments and archive).");
        meter.CreateObservableGauge("ingest.disk.free", () => _budget.FreeBytes == long.MaxValue ? 0 : _budget.FreeBytes, "By", "Free bytes on the data directory's file system (sampled).");
        meter.CreateObservableGauge("ingest.disk.budget", () => _budget.MaxBytes, "By", "Ingest:MaxDiskBytes.");
        MembershipChecks = meter.CreateCounter<long>("ingest.membership.checks", "{check}",
            "Membership lease checks of this silo, by outcome: table (its row reads Active), peers (table unreachable, a majority of peers answered), unconfirmed, dead.");
        IdempotentReplays = meter.CreateCounter<long>("ingest.idempotency.replays", "{request}", "Requests whose Idempotency-Key repeated an earlier request of the window: answered again, nothing stored.");
        IdempotencyForgotten = meter.CreateCounter<long>("ingest.idempotency.forgotten", "{key}", "Idempotency keys forgotten before their window ended because Ingest:IdempotencyMaxKeys was reached.");
        DeliveryErrors = meter.CreateCounter<long>("ingest.kafka.delivery_errors", "{record}", "Delivery reports with an error (each is retried from the checkpoint).");
        meter.CreateObservableCounter("ingest.kafka.messages_transmitted", () => MessagesTransmitted, "{message}",
            "Messages sent to brokers, retransmissions included (librdkafka statistics, when Kafka:ProducerSettings:statistics.interval.ms is set); minus ingest.records.shipped, it counts retries.");
    }

    public const string SyncTag = "sync";

    /// <summary>The <c>sync</c> tag of a commit with and without an fsync.</summary>
    public static readonly KeyValuePair<string, object?> Synced = new(SyncTag, true), Unsynced = new(SyncTag, false);

    public Histogram<double> CommitDuration { get; }

    public Counter<long> IdempotentReplays { get; }

    public Counter<long> IdempotencyForgotten { get; }

    /// <summary>The <c>topic</c> tag of a topic or topic shard (bounded, see <see cref="TopicLabels"/>).</summary>
    public KeyValuePair<string, object?> TagFor(string topicKey) => _labels.TagFor(topicKey);

    /// <summary>
    /// Where the backlog gauges read from (the forwarding engine's shippers). Each gauge reads it when scraped,
    /// so the backlog of a scrape agrees with its counters (~3 ms per scrape at 10,000 topics, bench/README.md).
    /// </summary>
    public void ObserveTopics(Func<IEnumerable<Topics.TopicForwardingStatus>> topics) => _topics = topics;

    private IEnumerable<Measurement<long>> SumPerTopic(Func<Topics.TopicForwardingStatus, long> value) =>
        _topics()
            .GroupBy(status => _labels.LabelFor(status.Topic))
            .Select(group => new Measurement<long>(group.Sum(value), new KeyValuePair<string, object?>(TopicTag, group.Key)));

    private IEnumerable<Measurement<double>> OldestAge()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _topics()
            .GroupBy(status => _labels.LabelFor(status.Topic))
            .Select(group =>
            {
                var oldest = group.Min(s => s.OldestUnshippedMs ?? long.MaxValue);
                return new Measurement<double>(oldest == long.MaxValue ? 0 : Math.Max(0, now - oldest) / 1000.0, new KeyValuePair<string, object?>(TopicTag, group.Key));
            });
    }

    private long _lastShippedMs;

    /// <summary>When Kafka last acknowledged a record from this silo (Unix ms), or 0.</summary>
    public long LastShippedMs => Volatile.Read(ref _lastShippedMs);

    private long _transmittedBase;
    private long _transmittedCurrent;

    /// <summary>Messages librdkafka transmitted, retransmissions included, across producer rebuilds.</summary>
    public long MessagesTransmitted => Volatile.Read(ref _transmittedBase) + Volatile.Read(ref _transmittedCurrent);

    public void AddShipped(long records, KeyValuePair<string, object?> topicTag)
    {
        Volatile.Write(ref _lastShippedMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        RecordsShipped.Add(records, topicTag);
    }

    /// <summary>
    /// Reads librdkafka's statistics JSON for the one total only it knows (<c>txmsgs</c>). The document holds
    /// every topic and partition the producer knows, so it grows with the topics: it is scanned for the
    /// top-level field, not parsed.
    /// </summary>
    public void RecordProducerStatistics(string json)
    {
        if (TopLevelNumber(json, "txmsgs") is { } value)
        {
            if (value < Volatile.Read(ref _transmittedCurrent))
            {
                // A rebuilt producer starts from zero: keep the total monotonic.
                Interlocked.Add(ref _transmittedBase, Volatile.Read(ref _transmittedCurrent));
            }

            Volatile.Write(ref _transmittedCurrent, value);
        }
    }

    /// <summary>The number held by a field of the outermost object of <paramref name="json"/>, or null.</summary>
    internal static long? TopLevelNumber(string json, string field)
    {
        var depth = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '{' or '[':
                    depth++;
                    break;
                case '}' or ']':
                    depth--;
                    break;
                case '"':
                    if (depth == 1 && string.CompareOrdinal(json, i + 1, field, 0, field.Length) == 0 && i + field.Length + 2 < json.Length
                        && json[i + field.Length + 1] == '"' && json[i + field.Length + 2] == ':')
                    {
                        var start = i + field.Length + 3;
                        var end = start;
                        while (end < json.Length && (char.IsAsciiDigit(json[end]) || json[end] == '-'))
                        {
                            end++;
                        }

                        return long.TryParse(json.AsSpan(start, end - start), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;
                    }

                    inString = true;
                    break;
            }
        }

        return null;
    }

    public Counter<long> MembershipChecks { get; }

    public Counter<long> SegmentsDeleted { get; }

    public Counter<long> SegmentsArchived { get; }

    public Counter<long> RotationChecks { get; }

    public Counter<long> ArchiveDeletions { get; }

    /// <summary>Set by the archive whenever it changes.</summary>
    public long ArchiveBytes { get; set; }

    public Counter<long> RecordsShipped { get; }

    public Counter<long> BytesShipped { get; }

    public Histogram<double> DeliveryLatency { get; }

    public Counter<long> DeliveryErrors { get; }

    public Counter<long> RecordsAppended { get; }

    public Counter<long> BytesAppended { get; }

    public Counter<long> GroupCommits { get; }

    public Counter<long> AppendsRefused { get; }

    public Counter<long> RecoveryCuts { get; }

    public Counter<long> SegmentsSealed { get; }
}
