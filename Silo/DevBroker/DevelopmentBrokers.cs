using Ingest.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.DevBroker;

/// <summary>The development broker a node starts when its configuration names no Kafka brokers: librdkafka's mock cluster.</summary>
internal sealed class DevelopmentBrokers : IDevelopmentBrokers
{
    public void EnsurePortsFree(int basePort, int brokers) => MockKafkaCluster.EnsurePortsFree(basePort, brokers);

    public IDevelopmentBroker Start(int brokers, int basePort) => MockKafkaCluster.Start(brokers, basePort);
}

public static class DevelopmentBrokerServices
{
    /// <summary>Lets this host start the in-memory development broker (section <c>DevKafka</c>) when no brokers are configured.</summary>
    public static IServiceCollection AddDevelopmentBroker(this IServiceCollection services)
    {
        services.TryAddSingleton<IDevelopmentBrokers, DevelopmentBrokers>();
        return services;
    }
}
