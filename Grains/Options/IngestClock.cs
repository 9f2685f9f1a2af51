namespace Ingest.Options;

/// <summary>
/// The service key of the <see cref="TimeProvider"/> that Ingest's own time decisions read: a segment's
/// creation time, rotation by age and by UTC day, archive dates, retention. It defaults to the host's
/// <see cref="TimeProvider"/>; tests replace it with a fake clock without moving Orleans' own timers.
/// </summary>
public static class IngestClock
{
    public const string ServiceKey = "ingest.clock";
}
