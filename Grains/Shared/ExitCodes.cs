namespace Ingest;

/// <summary>How a Silo or Api process ends (README, "Exit codes"). Scripts and unit files can rely on these.</summary>
public static class ExitCodes
{
    /// <summary>Stopped on request (SIGTERM, Ctrl+C) after a graceful shutdown.</summary>
    public const int Stopped = 0;

    /// <summary>An unexpected error; stderr and the log hold the details.</summary>
    public const int Failed = 1;

    /// <summary>An invalid setting or command line: one line on stderr names it, its value and what is allowed.</summary>
    public const int Usage = 2;

    /// <summary>A graceful stop took longer than <c>Cluster:ShutdownTimeout</c>; the silo exited anyway.</summary>
    public const int ShutdownTimeout = 3;

    /// <summary>Something this node must own is taken: a port, or the data directory (another process holds its lock).</summary>
    public const int ResourceInUse = 4;

    /// <summary>
    /// The cluster removed this silo (declared it dead, e.g. after it was cut off), or its membership failed: it
    /// refused new appends, sealed its segments, shipped what it could within <c>Cluster:ShutdownTimeout</c>
    /// and exited. Start it again on the same disk: it rejoins and ships the rest.
    /// </summary>
    public const int RemovedFromCluster = 5;
}
