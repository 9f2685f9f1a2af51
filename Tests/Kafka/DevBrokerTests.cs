using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

public sealed class DevBrokerTests
{
    [Fact]
    public async Task the_mock_cluster_on_a_fixed_port_takes_produce_and_serves_consume()
    {
        var basePort = Ports.Free();
        await using var cluster = MockKafkaCluster.Start(brokers: 1, basePort: basePort);
        cluster.CreateTopic("dev-broker", partitions: 2);

        Assert.Equal($"127.0.0.1:{basePort}", cluster.BootstrapServers);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true }).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                await producer.ProduceAsync("dev-broker", new Message<string, string> { Key = $"k{i % 3}", Value = $"v{i}" });
            }
        }

        var consumed = KafkaTestClient.ReadAll(cluster.BootstrapServers, "dev-broker", 10, TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"v{i}").Order(), consumed.Select(m => m.Value).Order());
    }
}
