namespace Ingest.Diagnostics;

/// <summary>Event ids of every log line the storage side writes, in one place.</summary>
internal enum IngestEventCode
{
    DataDirectoryOpened = 1000,
    DataDirectoryLocked = 1001,
    SegmentCreated = 1100,
    SegmentSealed = 1101,
    SegmentRecovered = 1102,
    SegmentTornTailTruncated = 1103,
    SegmentCorruptionQuarantined = 1104,
    SegmentHeaderInvalid = 1105,
    AppendFailed = 1200,
    DiskBudgetExhausted = 1201,
    RotationReminderFailed = 1202,
    SegmentArchived = 1400,
    ShippedSegmentDeleted = 1401,
    ArchiveRetentionApplied = 1402,
    ArchiveEvicted = 1403,
    ArchiveFailed = 1404,
    DataDirectoryRestricted = 1405,
    ReplayStarted = 1500,
    ReplayFinished = 1501,
    ReplayResumed = 1502,
}
