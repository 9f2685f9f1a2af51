namespace Ingest.Diagnostics;

/// <summary>
/// Event ids of every log line the silo writes (storage 1000-1299 and 1400-1599, Kafka 1300-1399, shutdown
/// 1600-1699, cluster configuration 1700-1799), in one place. The HTTP frontend's are <c>ApiEventCode</c> (2000-2999).
/// </summary>
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
    UsingBrokers = 1300,
    DevBrokerStarted = 1301,
    ProducerError = 1310,
    ProducerRebuilt = 1311,
    ProducerBuildFailed = 1312,
    ProducerRenewed = 1313,
    DeliveryFailed = 1320,
    SegmentShipped = 1321,
    Resuming = 1322,
    SealedSegmentCorrupt = 1323,
    ForwardingTurnFailed = 1324,
    CheckpointUnreadable = 1325,
    ProducerSwitched = 1326,
    SegmentArchived = 1400,
    ShippedSegmentDeleted = 1401,
    ArchiveRetentionApplied = 1402,
    ArchiveEvicted = 1403,
    ArchiveFailed = 1404,
    DataDirectoryRestricted = 1405,
    ReplayStarted = 1500,
    ReplayFinished = 1501,
    ReplayResumed = 1502,
    ForwardingMaintenanceFailed = 1503,
    ShutdownDraining = 1600,
    ShutdownLeaving = 1601,
    ShutdownExceeded = 1602,
    ConfigSeeded = 1710,
    ConfigChanged = 1711,
}
