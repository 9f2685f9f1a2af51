using System.Collections.Concurrent;
using Ingest.Diagnostics;
using Ingest.Kafka.DevBroker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Kafka;

/// <summary>
/// Where this silo's Kafka is: the configured brokers, or — when none are configured — the in-memory
/// development broker, started here on a fixed address and announced loudly. It never starts when
/// real brokers are configured.
/// </summary>
internal sealed class KafkaEndpoint(IOptions<KafkaOptions> kafka, IOptions<DevKafkaOptions> dev, ILogger<KafkaEndpoint> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, bool> _createdTopics = new(StringComparer.Ordinal);
    private MockKafkaCluster? _devBroker;
    private string? _bootstrapServers;

    public string BootstrapServers => _bootstrapServers ?? throw new InvalidOperationException("The Kafka endpoint has not been started.");

    public bool IsDevBroker => _devBroker is not null;

    public void Start()
    {
        if (_bootstrapServers is not null)
        {
            return;
        }

        if (!string.IsNullOrWhiteSpace(kafka.Value.BootstrapServers))
        {
            _bootstrapServers = kafka.Value.BootstrapServers;
            KafkaLog.UsingBrokers(logger, _bootstrapServers);
            return;
        }

        _devBroker = MockKafkaCluster.Start(dev.Value.Brokers, dev.Value.Port);
        _bootstrapServers = _devBroker.BootstrapServers;
        KafkaLog.DevBrokerStarted(logger, _bootstrapServers);
    }

    /// <summary>On the development broker, creates the topic with <c>DevKafka:Partitions</c> partitions the first time it is used.</summary>
    public void EnsureTopic(string kafkaTopic)
    {
        if (_devBroker is not null && _createdTopics.TryAdd(kafkaTopic, true))
        {
            _devBroker.CreateTopic(kafkaTopic, dev.Value.Partitions);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_devBroker is not null)
        {
            await _devBroker.DisposeAsync();
        }
    }
}
