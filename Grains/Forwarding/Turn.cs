namespace Ingest.Forwarding;

/// <summary>What a turn asks of the scheduler.</summary>
internal readonly record struct Turn(bool More, TimeSpan? Wait, bool Done)
{
    /// <summary>Nothing to do until something happens (a signal, a report, budget).</summary>
    public static Turn Idle => new(false, null, false);

    /// <summary>More is ready now: queue the log again, behind the others.</summary>
    public static Turn Again => new(true, null, false);

    /// <summary>A replay whose job is shipped: the log is done for good.</summary>
    public static Turn Finished => new(false, null, true);

    /// <summary>Wake the log after <paramref name="wait"/> (a back-off, a checkpoint due), or earlier on a signal.</summary>
    public static Turn WaitFor(TimeSpan wait) => new(false, wait, false);
}

/// <summary>The record times a log sends: [FromMs, ToMs). The default window holds every record.</summary>
internal readonly record struct ShipWindow(long FromMs, long ToMs)
{
    public bool Contains(long timestampMs) => (FromMs == 0 && ToMs == 0) || (timestampMs >= FromMs && timestampMs < ToMs);
}
