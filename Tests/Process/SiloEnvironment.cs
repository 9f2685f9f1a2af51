using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

internal static class SiloEnvironment
{
    /// <summary>Settings for a silo process on free ports with its own data directory.</summary>
    public static Dictionary<string, string> For(string dataDirectory, int? siloPort = null, int? gatewayPort = null) => new()
    {
        ["Ingest__DataDirectory"] = dataDirectory,
        ["Cluster__SiloPort"] = (siloPort ?? Ports.Free()).ToString(),
        ["Cluster__GatewayPort"] = (gatewayPort ?? Ports.Free()).ToString(),
        ["DevKafka__Port"] = "0",
        ["Kafka__Enabled"] = "false",
    };

    /// <summary>A silo process of a Redis-clustered system on loopback.</summary>
    public static Dictionary<string, string> InRedisCluster(string dataDirectory, string redis, string clusterId)
    {
        var environment = For(dataDirectory);
        environment["Cluster__Redis"] = redis;
        environment["Cluster__ClusterId"] = clusterId;
        environment["Cluster__AdvertisedAddress"] = "127.0.0.1";
        environment["Cluster__ResponseTimeout"] = "00:00:03";
        return environment;
    }

    /// <summary>An Api frontend process of a Redis-clustered system.</summary>
    public static Dictionary<string, string> FrontendOf(string redis, string clusterId) => new()
    {
        ["Cluster__Redis"] = redis,
        ["Cluster__ClusterId"] = clusterId,
        ["Cluster__ResponseTimeout"] = "00:00:03",
    };
}
