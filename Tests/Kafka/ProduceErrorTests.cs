using Ingest.Diagnostics;
using System.Net;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

public sealed class ProduceErrorTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task injected_not_leader_timeouts_and_disconnects_lose_nothing()
    {
        const string topic = "produce-errors";
        silo.Kafka.CreateTopic(topic, partitions: 4);
        // This silo's own count of records acknowledged by Kafka (other silos of the test process ship too).
        using var shipped = new InstrumentSum(silo.Service<System.Diagnostics.Metrics.IMeterFactory>(), "ingest.records.shipped");
        var instruments = silo.Service<IngestInstruments>();
        var ledger = new Ledger();
        for (var i = 0; i < 200; i++)
        {
            await ledger.PostOne(silo.Http, topic, $"warm-{i}", $"k{i % 4}", i);
        }

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        await Poll.Until(() => instruments.MessagesTransmitted >= shipped.Total && shipped.Total >= 200, TimeSpan.FromSeconds(10), "producer statistics to catch up");
        var retransmittedBefore = instruments.MessagesTransmitted - shipped.Total;

        silo.Kafka.PushRequestErrors(KafkaApiKey.Produce,
            KafkaErrorCode.NotLeaderForPartition, KafkaErrorCode.NotLeaderForPartition, KafkaErrorCode.RequestTimedOut,
            KafkaErrorCode.NotEnoughReplicas, KafkaErrorCode.RequestTimedOut, KafkaErrorCode.NotLeaderForPartition);
        var load = Task.Run(async () =>
        {
            for (var i = 200; i < 2200; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"e-{i}", $"k{i % 4}", i));
            }
        });
        await Poll.Until(() => ledger.Count > 800, TimeSpan.FromSeconds(30), "load under way");
        // A disconnect: broker 1 drops its connections and comes back.
        silo.Kafka.SetBrokerDown(1);
        await Poll.Until(() => ledger.Count > 1200, TimeSpan.FromSeconds(30), "load while broker 1 is down");
        silo.Kafka.SetBrokerUp(1);
        await load;

        try
        {
            // librdkafka resends some requests hit by injected errors only after its 60 s socket timeout
            // (measured in the chaos soak); two such rounds exceed 90 s on a busy host. The read returns as
            // soon as every record is seen, so the long deadline costs nothing when all is well.
            ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(240));
        }
        catch (Exception) when (Diagnose())
        {
            throw;
        }

        bool Diagnose()
        {
            // What the forwarder believed when a record was missing: a stuck report, or a report of success.
            var status = silo.Service<Ingest.Forwarding.ForwardingEngine>().Status().Single(s => s.Topic == topic);
            TestContext.Current.SendDiagnosticMessage($"forwarder at failure: {status}");
            TestContext.Current.AddAttachment("forwarder-status", status.ToString());
            return false;
        }

        await Poll.Until(
            () => instruments.MessagesTransmitted - shipped.Total > retransmittedBefore,
            TimeSpan.FromSeconds(30),
            "librdkafka to report retransmitted messages (the injected errors and the disconnect were hit)");
    }
}
