using System.Net;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

/// <summary>A silo whose producer gives up on a message after 2 s, so an outage drives the retry-from-checkpoint path.</summary>
public sealed class ImpatientKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Kafka:ProducerSettings:message.timeout.ms", "2000"),
        new("Kafka:MaxRetryBackoff", "00:00:01"),
    ];
}

public sealed class DeliveryFailureTests(ImpatientKafkaSilo silo) : IClassFixture<ImpatientKafkaSilo>
{
    [Fact]
    public async Task expired_deliveries_are_resent_from_the_checkpoint_and_nothing_is_lost()
    {
        var errors = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        var instruments = silo.Service<IngestInstruments>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, instruments.DeliveryErrors))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref errors, value));
        listener.Start();

        var ledger = await Outage.RunAsync(silo, "expiring", recordsDuring: 500, () => Interlocked.Read(ref errors) > 0, "a delivery expired (message.timeout.ms=2000)");

        Assert.True(Interlocked.Read(ref errors) > 0, "deliveries should have expired during the outage (message.timeout.ms=2000)");
        var (_, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "expiring", TimeSpan.FromSeconds(90), keyOrder: false);
        Assert.InRange(duplicates, 0, ledger.Count);
    }
}
