using System.Collections.Concurrent;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Kafka;

/// <summary>
/// Where this silo's Kafka is: the brokers of the cluster configuration (<c>kafka.bootstrapServers</c>),
/// or — when it names none — the in-memory development broker, started here on a fixed address and
/// announced loudly. The development broker starts only when it is the destination, and only on a host
/// that has one (<see cref="IDevelopmentBrokers"/>, registered by the Silo).
/// </summary>
internal sealed class KafkaEndpoint(LiveConfig config, IOptions<DevKafkaOptions> dev, IEnumerable<IDevelopmentBrokers> brokers, ILogger<KafkaEndpoint> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, bool> _createdTopics = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly IDevelopmentBrokers? _brokers = brokers.FirstOrDefault();
    private IDevelopmentBroker? _devBroker;
    private string? _announced;

    /// <summary>The brokers of <paramref name="settings"/>, or the development broker's address (starting it) when it names none.</summary>
    public string BootstrapServersFor(KafkaSettings settings)
    {
        var servers = settings.BootstrapServers ?? DevBroker().BootstrapServers;
        if (!string.Equals(Volatile.Read(ref _announced), servers, StringComparison.Ordinal))
        {
            Volatile.Write(ref _announced, servers);
            if (settings.BootstrapServers is not null)
            {
                KafkaLog.UsingBrokers(logger, servers);
            }
        }

        return servers;
    }

    /// <summary>
    /// Before the silo starts: if this node would start the development broker (its configuration names no
    /// brokers), its fixed ports must be free, or the silo is refused (the development broker's port-in-use
    /// exception) before anything else starts (the broker itself starts only when forwarding does).
    /// </summary>
    public void EnsureDevBrokerCanStart()
    {
        if (config.Current.Kafka.BootstrapServers is not null || Volatile.Read(ref _devBroker) is not null)
        {
            return;
        }

        if (!dev.Value.Enabled)
        {
            throw new InvalidSettingException(NoBrokers);
        }

        if (_brokers is null)
        {
            throw new InvalidSettingException(NoDevBrokerHere);
        }

        if (dev.Value.Port > 0)
        {
            _brokers.EnsurePortsFree(dev.Value.Port, dev.Value.Brokers);
        }
    }

    private const string NoBrokers =
        "Kafka:BootstrapServers is not set, and DevKafka:Enabled=false forbids the in-memory development broker: " +
        "set Kafka:BootstrapServers (environment Kafka__BootstrapServers) to your Kafka brokers.";

    private const string NoDevBrokerHere =
        "Kafka:BootstrapServers is not set, and this host has no in-memory development broker: " +
        "set Kafka:BootstrapServers (environment Kafka__BootstrapServers) to your Kafka brokers.";

    public bool IsDevBroker => _devBroker is not null && config.Current.Kafka.BootstrapServers is null;

    /// <summary>Resolves the current destination once, so the development broker (if it is the one) is up before shipping starts.</summary>
    public void Start() => BootstrapServersFor(config.Current.Kafka);

    /// <summary>On the development broker, creates the topic with <c>DevKafka:Partitions</c> partitions the first time it is used.</summary>
    public void EnsureTopic(string kafkaTopic)
    {
        if (IsDevBroker && _createdTopics.TryAdd(kafkaTopic, true))
        {
            _devBroker!.CreateTopic(kafkaTopic, dev.Value.Partitions);
        }
    }

    private IDevelopmentBroker DevBroker()
    {
        if (Volatile.Read(ref _devBroker) is { } running)
        {
            return running;
        }

        if (!dev.Value.Enabled || _brokers is null)
        {
            throw new InvalidOperationException(_brokers is null ? NoDevBrokerHere : NoBrokers);
        }

        lock (_gate)
        {
            if (_devBroker is null)
            {
                _devBroker = _brokers.Start(dev.Value.Brokers, dev.Value.Port);
                KafkaLog.DevBrokerStarted(logger, _devBroker.BootstrapServers);
            }

            return _devBroker;
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
