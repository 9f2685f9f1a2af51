namespace Ingest.Hosting;

/// <summary>
/// The clock of Orleans' membership area (<c>TimeProviderNames.Membership</c>): the host's clock, with
/// timestamps counted from when this silo was built instead of from the machine's boot.
/// <para>Why: Orleans 10's <c>Watchdog.Start</c> starts its platform-check thread before it sets the
/// timestamp of the component check. That thread's first check reads the unset timestamp, 0, so it
/// reports "Participant check thread has not completed for &lt;machine uptime&gt;" at every start and
/// records a ComponentHealthCheckStall health event (score 1): for the next minute the new silo counts
/// itself as degraded, and a degraded silo does not vote other silos dead. With timestamps counted from
/// the silo's own start, an unset timestamp reads as "just now", which is what it means here. Only the
/// origin moves: every elapsed time, timer and wall-clock reading is the host clock's.</para>
/// </summary>
internal sealed class MembershipClock(TimeProvider host) : TimeProvider
{
    private readonly long _origin = host.GetTimestamp();

    public override long GetTimestamp() => host.GetTimestamp() - _origin;

    public override long TimestampFrequency => host.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => host.GetUtcNow();

    public override TimeZoneInfo LocalTimeZone => host.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        host.CreateTimer(callback, state, dueTime, period);
}
