namespace Ingest.Kafka;

/// <summary>The record headers Ingest itself puts on every Kafka record (before the record's own headers).</summary>
internal static class KafkaHeaders
{
    /// <summary>The record's ingest time, Unix milliseconds as ASCII digits (also the Kafka timestamp).</summary>
    public const string IngestTime = "ingest-time";

    /// <summary>Where the record is stored, the same on every copy (see <c>Audit/RecordIds.cs</c>).</summary>
    public const string IngestId = "ingest-id";
}
