using Confluent.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

/// <summary>
/// An in-process silo that forwards to a mock Kafka cluster owned by the test: the test can take its
/// brokers down, inject errors, and read what arrived with an independent consumer.
/// </summary>
public class KafkaSilo : InProcessSilo
{
    public MockKafkaCluster Kafka { get; } = MockKafkaCluster.Start(brokers: 3);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Kafka:Enabled", "true"),
        new("Kafka:BootstrapServers", Kafka.BootstrapServers),
        new("Kafka:ProducerSettings:reconnect.backoff.max.ms", "500"),
        new("Kafka:ProducerSettings:statistics.interval.ms", "1000"), // the retransmission count some tests read
        new("Kafka:Topics:clicks", "web.clicks.v1"),
        .. ExtraSettings,
    ];

    protected virtual IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [];

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Kafka.DisposeAsync();
    }

    /// <summary>Proves the brokers are unreachable: a plain producer's delivery times out.</summary>
    public Task AssertKafkaUnreachableAsync() => KafkaTestClient.AssertUnreachableAsync(Kafka.BootstrapServers);
}
