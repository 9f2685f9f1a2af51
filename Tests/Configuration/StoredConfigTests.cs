using Ingest.Configuration;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Ingest.Tests.Configuration;

/// <summary>
/// The cluster configuration outlives the code that wrote it (Redis, or data/config/): what a silo of an
/// earlier version stored is read by this one.
/// </summary>
public sealed class StoredConfigTests
{
    [Fact]
    public void a_configuration_stored_before_its_types_had_wire_aliases_is_read_by_this_version()
    {
        // Written by a silo of the revision before the aliases (dbbe16f): the seed of a development node.
        var bytes = File.ReadAllBytes(Path.Combine(Repo.Root, "Tests", "Configuration", "Stored", "config-before-aliases.bin"));
        using var services = new ServiceCollection()
            .AddSerializer(serializer => serializer.AddAssembly(typeof(ConfigState).Assembly).AddAssembly(typeof(ClusterConfig).Assembly))
            .BuildServiceProvider();

        var state = services.GetRequiredService<Serializer>().Deserialize<ConfigState>(bytes)!;

        var config = Assert.IsType<ClusterConfig>(state.Config);
        Assert.Equal("127.0.0.1:36783", config.Kafka.BootstrapServers);
        Assert.Equal(TopicMode.Open, config.TopicMode);
        Assert.Empty(config.Keys);
    }
}
