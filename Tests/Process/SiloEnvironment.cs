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
}
