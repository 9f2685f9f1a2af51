using System.Net;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

public sealed class KafkaOutageTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task with_every_broker_down_ingest_keeps_answering_202_and_every_record_arrives_after_in_key_order()
    {
        var ledger = await Outage.RunAsync(silo, "outage", recordsDuring: 2000);

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "outage", TimeSpan.FromSeconds(90));
    }
}
