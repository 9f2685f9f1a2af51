namespace Ingest.Diagnostics;

/// <summary>What the disk gauges read: the data directory's bytes in use, its budget and the free space under it.</summary>
internal interface IDiskUsage
{
    long UsedBytes { get; }

    long MaxBytes { get; }

    /// <summary>Free bytes on the data directory's file system, as last sampled (<see cref="long.MaxValue"/> before the first sample).</summary>
    long FreeBytes { get; }
}
