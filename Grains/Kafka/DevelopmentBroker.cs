namespace Ingest.Kafka;

/// <summary>
/// Starts in-memory Kafka clusters for development, when the cluster configuration names no brokers.
/// The production assemblies have none: the Silo host registers one (<c>Silo/DevBroker/</c>); without it,
/// a node needs <c>Kafka:BootstrapServers</c>.
/// </summary>
public interface IDevelopmentBrokers
{
    /// <summary>Throws an <see cref="IOException"/> naming the port if one of the fixed ports of such a cluster is taken.</summary>
    void EnsurePortsFree(int basePort, int brokers);

    /// <summary>Starts a cluster of <paramref name="brokers"/>; broker <c>i</c> at 127.0.0.1:(<paramref name="basePort"/> + i − 1), or random ports with 0.</summary>
    IDevelopmentBroker Start(int brokers, int basePort);
}

/// <summary>A running development cluster.</summary>
public interface IDevelopmentBroker : IAsyncDisposable
{
    /// <summary>The address clients give as <c>bootstrap.servers</c>.</summary>
    string BootstrapServers { get; }

    void CreateTopic(string topic, int partitions);
}
