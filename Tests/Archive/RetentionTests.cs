using Ingest.Options;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ingest.Hosting;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Archive;

/// <summary>A forwarding silo whose Ingest clock is a fake (retention reads it), keeping 2 days of archive.</summary>
public sealed class RetentionKafkaSilo : KafkaSilo
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:RetentionDays", "2"),
        new("Kafka:ProducerSettings:message.timeout.ms", "0"),
    ];

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddKeyedSingleton<TimeProvider>(IngestClock.ServiceKey, Clock);
}

public sealed class RetentionTests : IAsyncLifetime
{
    private readonly RetentionKafkaSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task retention_deletes_an_archived_day_after_RetentionDays_and_never_an_unshipped_segment()
    {
        _silo.Kafka.CreateTopic("kept", partitions: 2);
        _silo.Kafka.CreateTopic("pending", partitions: 2);
        var shipped = new Ledger();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await shipped.PostOne(_silo.Http, "kept", $"kept-{i}", null, i));
        }

        // "kept": shipped, then sealed by the day change, then archived under today's date.
        shipped.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, "kept", TimeSpan.FromSeconds(30));
        var today = _silo.Clock.GetUtcNow().UtcDateTime.Date;
        _silo.Clock.SetUtcNow(new DateTimeOffset(today.AddDays(1), TimeSpan.Zero));
        Assert.Equal(HttpStatusCode.Accepted, await shipped.PostOne(_silo.Http, "kept", "kept-next-day", null, 20));
        await Poll.Until(() => StoredRecords.ArchivedSegments(_silo.DataDirectory, "kept").Length == 1, TimeSpan.FromSeconds(30),
            "yesterday's segment of 'kept' to be archived");
        var archivedDay = Path.Combine(_silo.DataDirectory, "archive", today.ToString("yyyyMMdd"));
        Assert.True(Directory.Exists(archivedDay), $"the archive should be dated by the segment's first record: {archivedDay}");

        // "pending": written while Kafka is down, so it stays unshipped in segments/.
        _silo.Kafka.SetBrokerDown();
        await _silo.AssertKafkaUnreachableAsync();
        var pending = new Ledger();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await pending.PostOne(_silo.Http, "pending", $"pending-{i}", null, i));
        }

        // Two days of retention: the archived day survives the next two days...
        _silo.Clock.SetUtcNow(new DateTimeOffset(today.AddDays(2).AddHours(23), TimeSpan.Zero));
        await WaitForRescans();
        Assert.True(Directory.Exists(archivedDay), "an archived day must be kept for RetentionDays");

        // ...and is deleted on the third. The unshipped segment of the same day is untouched.
        _silo.Clock.SetUtcNow(new DateTimeOffset(today.AddDays(3).AddMinutes(1), TimeSpan.Zero));
        await Poll.Until(() => !Directory.Exists(archivedDay), TimeSpan.FromSeconds(20), $"retention to delete {archivedDay}");
        Assert.Equal(20, _silo.Records("pending").Count);

        _silo.Kafka.SetBrokerUp();
        pending.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, "pending", TimeSpan.FromSeconds(60));
    }

    /// <summary>Retention runs on every one-second rescan of the forwarder: wait for two of them to pass.</summary>
    private async Task WaitForRescans()
    {
        var marker = Path.Combine(_silo.DataDirectory, "segments", "rescan-marker");
        Directory.CreateDirectory(marker);
        // A topic directory without a shipper gets one on the next rescan, which then writes nothing;
        // the forwarding status lists it once the rescan ran.
        var forwarder = _silo.Service<Orleans.IGrainFactory>().GetGrain<Ingest.Topics.IForwarderGrain>(
            Ingest.Topics.Forwarders.KeyFor(_silo.Service<Orleans.Runtime.ILocalSiloDetails>().SiloAddress));
        await Poll.Until(async () => (await forwarder.GetStatus()).Any(s => s.Topic == "rescan-marker"), TimeSpan.FromSeconds(20),
            "the forwarder's rescan to pick up a new topic directory");
    }
}
