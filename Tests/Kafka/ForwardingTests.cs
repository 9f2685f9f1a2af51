using System.Net;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

public sealed class ForwardingTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task a_topic_mapped_in_kafka_topics_ships_to_the_renamed_kafka_topic_and_no_dev_broker_runs()
    {
        silo.Kafka.CreateTopic("web.clicks.v1", partitions: 2);
        var ledger = new Ledger();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, "clicks", $"click-{i}", "u1", i));
        }

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "web.clicks.v1", TimeSpan.FromSeconds(30));
        Assert.False(silo.Service<Ingest.Kafka.KafkaEndpoint>().IsDevBroker, "with Kafka:BootstrapServers set, the development broker must not start");
    }

    [Fact]
    public async Task twenty_thousand_records_keyed_and_unkeyed_single_and_batch_all_reach_kafka_once_in_key_order()
    {
        const string topic = "e2e";
        silo.Kafka.CreateTopic(topic, partitions: 8);
        var ledger = new Ledger();

        // 10 clients: each owns its keys and sends them in order. Per client: 500 single keyed,
        // 500 single unkeyed, 10 keyed batches of 50, 10 unkeyed batches of 50 = 2,000 records.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(c => Task.Run(async () =>
        {
            var sequence = 0;
            for (var i = 0; i < 500; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"c{c}-s{i}", $"key-{c}-{i % 5}", sequence++));
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"c{c}-u{i}", null, sequence++));
            }

            for (var b = 0; b < 10; b++)
            {
                var keyed = Enumerable.Range(0, 50).Select(r => ($"c{c}-kb{b}-{r}", sequence++)).ToList();
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostBatch(silo.Http, topic, keyed, $"key-{c}-{b % 5}"));
                var unkeyed = Enumerable.Range(0, 50).Select(r => ($"c{c}-ub{b}-{r}", sequence++)).ToList();
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostBatch(silo.Http, topic, unkeyed, null));
            }
        })));

        Assert.Equal(20_000, ledger.Count);
        var (consumed, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(90));

        Assert.Equal(0, duplicates);
        // Unkeyed records are spread over partitions, not piled on one.
        Assert.True(consumed.Where(m => m.Key is null).Select(m => m.Partition).Distinct().Count() > 1);
    }
}
