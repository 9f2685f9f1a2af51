using System.Diagnostics.Metrics;

namespace Ingest.Diagnostics;

/// <summary>Storage-side instruments (meter <c>Ingest</c>). Tag names are constants so queries stay stable.</summary>
internal sealed class IngestInstruments
{
    public const string MeterName = "Ingest";
    public const string TopicTag = "topic";
    public const string OutcomeTag = "outcome";

    public IngestInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        RecordsAppended = meter.CreateCounter<long>("ingest.records.appended", "{record}", "Records written to a segment with the configured durability.");
        BytesAppended = meter.CreateCounter<long>("ingest.bytes.appended", "By", "Framed bytes written to segments.");
        GroupCommits = meter.CreateCounter<long>("ingest.group_commits", "{commit}", "Writes (and flushes) that each committed one or more appends.");
        AppendsRefused = meter.CreateCounter<long>("ingest.appends.refused", "{append}", "Appends answered with anything but Appended, by outcome.");
        RecoveryCuts = meter.CreateCounter<long>("ingest.segments.recovery_cuts", "{segment}", "Segments whose tail recovery truncated (torn) or quarantined (corrupt).");
        SegmentsSealed = meter.CreateCounter<long>("ingest.segments.sealed", "{segment}", "Segments sealed.");
    }

    public Counter<long> RecordsAppended { get; }

    public Counter<long> BytesAppended { get; }

    public Counter<long> GroupCommits { get; }

    public Counter<long> AppendsRefused { get; }

    public Counter<long> RecoveryCuts { get; }

    public Counter<long> SegmentsSealed { get; }
}
