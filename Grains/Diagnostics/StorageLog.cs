using Microsoft.Extensions.Logging;

namespace Ingest.Diagnostics;

internal static partial class StorageLog
{
    [LoggerMessage(EventId = (int)IngestEventCode.DataDirectoryOpened, Level = LogLevel.Information,
        Message = "Data directory {Path} opened: {Segments} segment(s), {Bytes} bytes; durability {Durability}")]
    public static partial void DataDirectoryOpened(ILogger logger, string path, int segments, long bytes, Options.Durability durability);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentCreated, Level = LogLevel.Debug,
        Message = "Segment {Path} created")]
    public static partial void SegmentCreated(ILogger logger, string path);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentSealed, Level = LogLevel.Information,
        Message = "Segment {Path} sealed at {Bytes} bytes ({Reason})")]
    public static partial void SegmentSealed(ILogger logger, string path, long bytes, string reason);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentRecovered, Level = LogLevel.Information,
        Message = "Segment {Path} recovered after an unclean stop: {Records} record(s), {Bytes} bytes, tail {Outcome}")]
    public static partial void SegmentRecovered(ILogger logger, string path, long records, long bytes, string outcome);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentTornTailTruncated, Level = LogLevel.Warning,
        Message = "Segment {Path}: torn tail of {CutBytes} bytes at offset {Offset} truncated (a write that never completed; it was not acknowledged)")]
    public static partial void TornTailTruncated(ILogger logger, string path, long offset, long cutBytes);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentCorruptionQuarantined, Level = LogLevel.Error,
        Message = "Segment {Path}: corrupt record at offset {Offset}; the segment now ends there and the {CutBytes} bytes from that offset were moved unchanged to {QuarantinePath} for inspection")]
    public static partial void CorruptionQuarantined(ILogger logger, string path, long offset, long cutBytes, string quarantinePath);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentHeaderInvalid, Level = LogLevel.Error,
        Message = "Segment {Path} has no valid header; moved unchanged to {QuarantinePath}")]
    public static partial void HeaderInvalid(ILogger logger, string path, string quarantinePath);

    [LoggerMessage(EventId = (int)IngestEventCode.AppendFailed, Level = LogLevel.Error,
        Message = "Append to topic {Topic} failed; segment {Path} sealed, {Records} record(s) not acknowledged")]
    public static partial void AppendFailed(ILogger logger, Exception exception, string topic, string? path, int records);

    [LoggerMessage(EventId = (int)IngestEventCode.DiskBudgetExhausted, Level = LogLevel.Warning,
        Message = "Append to topic {Topic} refused: {Reason}")]
    public static partial void DiskBudgetExhausted(ILogger logger, string topic, string reason);

    [LoggerMessage(EventId = (int)IngestEventCode.RotationReminderFailed, Level = LogLevel.Warning,
        Message = "Topic {Topic}: the rotation reminder could not be changed; the grain timer and append-time checks still rotate")]
    public static partial void RotationReminderFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = (int)IngestEventCode.SegmentArchived, Level = LogLevel.Information,
        Message = "Segment {Segment} of topic {Topic} fully acknowledged by Kafka; archived to {ArchivePath} ({Bytes} bytes; archive now {ArchiveBytes} bytes)")]
    public static partial void SegmentArchived(ILogger logger, string topic, string segment, string archivePath, long bytes, long archiveBytes);

    [LoggerMessage(EventId = (int)IngestEventCode.ShippedSegmentDeleted, Level = LogLevel.Information,
        Message = "Segment {Segment} of topic {Topic} fully acknowledged by Kafka; deleted ({Bytes} bytes; Ingest:RetentionDays is 0)")]
    public static partial void ShippedSegmentDeleted(ILogger logger, string topic, string segment, long bytes);

    [LoggerMessage(EventId = (int)IngestEventCode.ArchiveRetentionApplied, Level = LogLevel.Information,
        Message = "Archive day {Day} deleted by retention ({RetentionDays} days): {Segments} segment(s), {Bytes} bytes")]
    public static partial void ArchiveDayDeleted(ILogger logger, string day, int retentionDays, int segments, long bytes);

    [LoggerMessage(EventId = (int)IngestEventCode.ArchiveEvicted, Level = LogLevel.Warning,
        Message = "Disk budget: {Segments} archived segment(s), {Bytes} bytes, deleted before their retention to make room (oldest first, down to day {OldestKept})")]
    public static partial void ArchiveEvicted(ILogger logger, int segments, long bytes, string oldestKept);

    [LoggerMessage(EventId = (int)IngestEventCode.ArchiveFailed, Level = LogLevel.Error,
        Message = "Archive operation on {Path} failed; it is retried on the next pass")]
    public static partial void ArchiveFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = (int)IngestEventCode.DataDirectoryRestricted, Level = LogLevel.Warning,
        Message = "Data directory {Path} had mode {Mode}; set to 700 so that only this user can read the records in it")]
    public static partial void DataDirectoryRestricted(ILogger logger, string path, string mode);

    [LoggerMessage(EventId = (int)IngestEventCode.AuditWriteFailed, Level = LogLevel.Error,
        Message = "The audit in {Directory} could not be written; its counts are kept and written with the next write")]
    public static partial void AuditWriteFailed(ILogger logger, Exception exception, string directory);
}
