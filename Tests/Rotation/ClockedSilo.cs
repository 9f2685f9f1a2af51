using Ingest.Options;
using Ingest.Hosting;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;

namespace Ingest.Tests.Rotation;

/// <summary>
/// A store-only silo whose Ingest clock (segment age, UTC day, retention) is a fake the test moves,
/// while Orleans keeps real time: the rotation reminder ticks every second of real time and reads the
/// fake clock. Starts at 2026-11-20 23:59:00 UTC, one minute before a day boundary.
/// </summary>
public class ClockedSilo : InProcessSilo
{
    public static readonly DateTimeOffset Start = new(2026, 11, 20, 23, 59, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; } = new(Start);

    public string SegmentsOf(string topic) => Path.Combine(DataDirectory, "segments", topic);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Ingest:RotateAfter", "01:00:00"),
        new("Ingest:RotationReminderPeriod", "00:00:01"),
        .. ExtraSettings,
    ];

    protected virtual IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [];

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddKeyedSingleton<TimeProvider>(IngestClock.ServiceKey, Clock);
        services.Configure<ReminderOptions>(options => options.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
    }
}
