using System.Net;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

public sealed class FatalProducerErrorTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task a_fatal_producer_error_rebuilds_the_producer_and_every_record_still_arrives()
    {
        const string topic = "fatal";
        silo.Kafka.CreateTopic(topic, partitions: 2);
        var producer = silo.Service<KafkaProducerHost>();
        var ledger = new Ledger();
        for (var i = 0; i < 100; i++)
        {
            await ledger.PostOne(silo.Http, topic, $"before-{i}", "k", i);
        }

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(30));
        var generation = producer.Generation;

        // OUT_OF_ORDER_SEQUENCE_NUMBER on a produce is fatal for an idempotent producer.
        silo.Kafka.PushRequestErrors(KafkaApiKey.Produce, 45);
        for (var i = 100; i < 600; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"after-{i}", "k", i));
        }

        await Poll.Until(() => producer.Generation > generation, TimeSpan.FromSeconds(30), "the producer to be rebuilt after the fatal error");
        // librdkafka resends requests hit by the error after its socket timeout (60 s); on a busy host that can take two rounds.
        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(150), keyOrder: false);
    }
}
